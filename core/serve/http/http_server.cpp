// Boost.Beast stays in this file. One Connection per client socket, on a strand of its own; reads
// are driven by hand (request_parser::put over a bounded flat_buffer) so that each phase gets its
// own deadline and so that, while a request is being answered, the socket is still read: a client
// that goes away is seen at once, and pipelined requests wait (bounded) in the buffer.
#include "http_server.hpp"

#include <openssl/crypto.h>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace llmrt::serve::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A message's bytes, as Beast's serializer writes them. `header_only`: stop after the header (for
// a chunked reply, whose chunks follow one by one).
template <class Body>
std::string serialize(bhttp::response<Body>& response, bool header_only) {
  bhttp::response_serializer<Body> serializer{response};
  serializer.split(header_only);
  std::string out;
  beast::error_code ec;
  while (!(header_only ? serializer.is_header_done() : serializer.is_done())) {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (const auto buffer : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(buffer.data()), buffer.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
    if (ec) break;
  }
  return out;
}

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return &value;
  }
  return nullptr;
}

std::string* Request::header(std::string_view name) {
  for (auto& [key, value] : headers) {
    if (iequals(key, name)) return &value;
  }
  return nullptr;
}

class Connection;

struct Server::State {
  State(ServerLimits limits_, Handler handler_, std::function<Reply(const Refusal&)> on_refusal_)
      : limits(std::move(limits_)),
        handler(std::move(handler_)),
        on_refusal(std::move(on_refusal_)),
        io(static_cast<int>(std::max<std::size_t>(limits.io_threads, 1))),
        acceptor(net::make_strand(io)),
        retry_accept(acceptor.get_executor()),
        work(net::make_work_guard(io)) {}

  const ServerLimits limits;
  const Handler handler;
  const std::function<Reply(const Refusal&)> on_refusal;

  std::mutex mutex;  // guards what follows
  std::unordered_map<Connection*, std::weak_ptr<Connection>> live;
  std::map<std::string, std::size_t> per_address;
  std::size_t refused = 0;
  bool stopping = false;
  bool serving = false;

  // Destroyed first: pending handlers (and so Connections) go before the members they use.
  net::io_context io;
  tcp::acceptor acceptor;
  net::steady_timer retry_accept;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  // A connection closed: forget it; once stopping and none is left, let serve() return.
  void forget(Connection* connection, const std::string& address);
  void release_work_if_drained();  // with mutex held
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::State& server, tcp::socket socket, std::string address)
      : server_(server),
        stream_(std::move(socket)),
        address_(std::move(address)),
        deadline_(stream_.get_executor()),
        in_(server.limits.max_header_bytes + 16 * 1024) {}

  void start() {
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    enter_idle(server_.limits.header_timeout);
    do_read();
  }

  // From any thread: queue bytes of answer `serial`. `complete`: the answer's last bytes.
  bool enqueue(std::uint64_t serial, std::string bytes, bool complete, bool wait_for_room);
  void when_gone(std::uint64_t serial, std::function<void()> callback);
  bool gone() const {
    std::lock_guard lock(out_mutex_);
    return gone_;
  }
  void post_close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->keep_alive_ = false;
      if (self->phase_ == Phase::idle || self->phase_ == Phase::header ||
          self->phase_ == Phase::body) {
        self->close();
      }
    });
  }
  auto executor() { return stream_.get_executor(); }

 private:
  enum class Phase { idle, header, body, handling, lingering, closed };

  void enter_idle(std::chrono::milliseconds timeout) {
    phase_ = Phase::idle;
    arm(timeout);
  }

  // One timer per connection serves the deadline of the current phase and that of the write in
  // progress. Moving a deadline later (each phase of each request does) only records it; the timer
  // is re-armed when a deadline moves earlier than where it is set, or when it fires early and
  // finds the deadline moved. So a keep-alive request costs no timer operation (no timerfd update)
  // in the common case.
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNever = Clock::time_point::max();

  void arm(std::chrono::milliseconds timeout) {
    phase_deadline_ = Clock::now() + timeout;
    schedule_deadline();
  }
  void disarm() { phase_deadline_ = kNever; }

  void schedule_deadline() {
    const Clock::time_point next = std::min(phase_deadline_, write_deadline_);
    if (next >= timer_set_for_ || phase_ == Phase::closed) return;
    timer_set_for_ = next;
    deadline_.expires_at(next);  // cancels the wait in progress, if any
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_timer();
    });
  }

  void on_timer() {
    timer_set_for_ = kNever;
    if (phase_ == Phase::closed) return;
    const Clock::time_point now = Clock::now();
    if (write_deadline_ <= now) {
      close();  // the client reads too slowly: write_timeout
    } else if (phase_deadline_ <= now) {
      phase_deadline_ = kNever;
      on_deadline();
    } else {
      schedule_deadline();
    }
  }

  void on_deadline() {
    switch (phase_) {
      case Phase::header:
        refuse(408, "header_timeout");
        break;
      case Phase::body:
        refuse(408, "body_timeout");
        break;
      default:
        close();  // idle keep-alive, or lingering after a refusal
    }
  }

  // Waits until the socket is readable, then reads what is there. No buffer is lent to a pending
  // read: an idle connection holds no input buffer at all, and `in_` can be parsed (and moved)
  // while the next bytes are awaited.
  void do_read() {
    if (reading_ || phase_ == Phase::closed) return;
    if (phase_ == Phase::handling && in_.size() >= server_.limits.max_pipelined_bytes) return;
    if (in_.size() >= in_.max_size()) {
      if (phase_ == Phase::header || phase_ == Phase::idle) refuse(431, "header_limit");
      return;  // handling: read on once the buffered requests are taken
    }
    reading_ = true;
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
  }

  void on_readable(beast::error_code ec) {
    reading_ = false;
    if (ec) {
      close();
      return;
    }
    tcp::socket& socket = stream_.socket();
    // A fixed read size rather than asking how much is waiting (FIONREAD): one system call less
    // per request. Large bodies arrive in kReadChunk pieces, each parsed as it comes.
    constexpr std::size_t kReadChunk = 16 * 1024;
    // Read into this I/O thread's scratch space, then keep only what arrived: a request of a few
    // hundred bytes costs a small allocation, where preparing 16 KiB of `in_` for every request
    // (freed once answered, so that idle connections hold no buffer) kept malloc consolidating
    // its free lists (~2% of the gateway's CPU).
    thread_local std::array<char, kReadChunk> scratch;
    const std::size_t room = in_.max_size() - in_.size();
    const std::size_t want = std::min(room, kReadChunk);
    const std::size_t bytes = socket.read_some(net::buffer(scratch.data(), want), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      do_read();
      return;
    }
    if (ec) {
      close();  // end of stream or reset: the client has gone
      return;
    }
    net::buffer_copy(in_.prepare(bytes), net::buffer(scratch.data(), bytes));
    in_.commit(bytes);
    OPENSSL_cleanse(scratch.data(), bytes);  // it may hold a key (Authorization)
    if (phase_ == Phase::lingering) {
      in_.consume(in_.size());
      do_read();
      return;
    }
    advance();
  }

  // Parses what has been read, as far as it goes.
  void advance() {
    while (phase_ == Phase::idle || phase_ == Phase::header || phase_ == Phase::body) {
      if (in_.size() == 0) break;
      if (phase_ == Phase::idle) {
        phase_ = Phase::header;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_header_bytes));
        parser_->body_limit(server_.limits.max_body_bytes);
        parser_->eager(true);
        arm(server_.limits.header_timeout);
      }
      beast::error_code ec;
      const std::size_t used = parser_->put(in_.data(), ec);
      in_.consume(used);
      if (phase_ == Phase::header && parser_->is_header_done() && !on_header()) return;
      if (ec == bhttp::error::need_more) break;
      if (ec == bhttp::error::header_limit) return refuse(431, "header_limit");
      if (ec == bhttp::error::body_limit) return refuse(413, "body_limit");
      if (ec) return refuse(400, "bad_request");
      if (parser_->is_done()) {
        dispatch();
        return;
      }
      if (used == 0) break;
    }
    do_read();
  }

  // The headers are whole: check what Beast does not, then wait for the body.
  bool on_header() {
    auto& message = parser_->get();
    method_ = std::string(message.method_string());
    path_ = std::string(message.target().substr(0, message.target().find('?')));
    const auto count = static_cast<std::size_t>(std::distance(message.begin(), message.end()));
    if (count > server_.limits.max_header_count) {
      refuse(431, "header_count");
      return false;
    }
    const auto authorizations = message.equal_range(bhttp::field::authorization);
    if (std::distance(authorizations.first, authorizations.second) > 1) {
      refuse(400, "duplicate_authorization");
      return false;
    }
    phase_ = Phase::body;
    arm(server_.limits.body_timeout);
    if (!parser_->is_done() && iequals(message[bhttp::field::expect], "100-continue")) {
      enqueue(serial_, "HTTP/1.1 100 Continue\r\n\r\n", false, false);
    }
    return true;
  }

  void dispatch() {
    disarm();
    phase_ = Phase::handling;
    bhttp::request<bhttp::string_body> message = parser_->release();
    parser_.reset();
    version_ = message.version();
    {
      std::lock_guard lock(server_.mutex);
      keep_alive_ = keep_alive_ && message.keep_alive() && !server_.stopping;
    }
    Request request;
    request.method = std::move(method_);
    request.target = std::string(message.target());
    request.path = std::move(path_);
    request.headers.reserve(8);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.peer = address_;
    auto exchange = make_exchange();
    try {
      server_.handler(std::move(request), exchange);
    } catch (const std::exception&) {
      Reply reply;
      reply.status = 500;
      reply.body = R"({"error":{"message":"internal error","type":"server_error","param":null,)"
                   R"("code":null}})";
      exchange->respond(std::move(reply));
    }
    do_read();  // see the client go, and read ahead (bounded) what it pipelines
  }

  std::shared_ptr<Exchange> make_exchange();

  // A request refused before any handler: answer, then close (lingering so the answer arrives).
  void refuse(int status, const char* reason) {
    disarm();
    // The request line is known once parsed, even when a header broke a limit later.
    std::string method = "-";
    std::string path = "-";
    if (parser_ && !parser_->get().target().empty()) {
      method = std::string(parser_->get().method_string());
      const std::string_view target = parser_->get().target();
      path = std::string(target.substr(0, target.find('?')));
    }
    Refusal refusal{std::move(method), std::move(path), status, reason};
    parser_.reset();
    phase_ = Phase::handling;
    keep_alive_ = false;
    Reply reply = server_.on_refusal(refusal);
    reply.status = status;
    enqueue(serial_, reply_bytes(reply), true, false);
  }

 public:
  std::string reply_bytes(const Reply& reply) const {
    bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(reply.status),
                                                 version_ == 10 ? 10u : 11u};
    for (const auto& [name, value] : reply.headers) response.insert(name, value);
    if (!reply.content_type.empty()) response.set(bhttp::field::content_type, reply.content_type);
    response.keep_alive(keep_alive_);
    response.body() = reply.body;
    response.prepare_payload();
    return serialize(response, false);
  }

  std::string stream_header_bytes(int status, const Headers& headers,
                                  const std::string& content_type) {
    bhttp::response<bhttp::empty_body> response{static_cast<bhttp::status>(status), 11};
    for (const auto& [name, value] : headers) response.insert(name, value);
    response.set(bhttp::field::content_type, content_type);
    response.keep_alive(keep_alive_);
    response.chunked(true);
    return serialize(response, true);
  }

  static std::string chunk_bytes(std::string_view data) {
    return beast::buffers_to_string(bhttp::make_chunk(net::const_buffer(data.data(), data.size())));
  }
  static std::string last_chunk_bytes() {
    return beast::buffers_to_string(bhttp::make_chunk_last());
  }

 private:
  void do_write();
  void on_answer_written();
  void close();

  Server::State& server_;
  beast::tcp_stream stream_;
  const std::string address_;
  net::steady_timer deadline_;
  Clock::time_point phase_deadline_ = kNever;  // of the current phase; kNever: none
  Clock::time_point write_deadline_ = kNever;  // of the write in progress; kNever: none
  Clock::time_point timer_set_for_ = kNever;   // where deadline_ is set; kNever: not waiting
  beast::flat_buffer in_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Phase phase_ = Phase::idle;
  bool reading_ = false;
  std::atomic<bool> keep_alive_{true};
  unsigned version_ = 11;
  std::string method_;
  std::string path_;

  // Output, shared with the threads that answer (under out_mutex_).
  mutable std::mutex out_mutex_;
  std::condition_variable room_;
  std::deque<std::string> out_;
  std::size_t out_bytes_ = 0;  // queued and being written
  bool write_scheduled_ = false;
  bool answer_complete_ = false;  // the current answer's last bytes are queued
  bool gone_ = false;
  std::uint64_t serial_ = 0;  // the request being answered
  std::function<void()> gone_callback_;
  std::vector<std::string> writing_;  // strand only
};

namespace {

class ConnectionExchange final : public Exchange {
 public:
  ConnectionExchange(std::shared_ptr<Connection> connection, std::uint64_t serial)
      : connection_(std::move(connection)), serial_(serial) {}

  void respond(Reply reply) override {
    if (!claim(State::done)) return;
    connection_->enqueue(serial_, connection_->reply_bytes(reply), true, false);
  }
  void start_stream(int status, Headers headers, std::string content_type) override {
    if (!claim(State::streaming)) return;
    connection_->enqueue(serial_, connection_->stream_header_bytes(status, headers, content_type),
                         false, false);
  }
  bool write(std::string_view data) override {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::streaming) return false;
    }
    if (data.empty()) return !connection_->gone();
    return connection_->enqueue(serial_, Connection::chunk_bytes(data), false, true);
  }
  void end_stream(std::string_view last) override {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::streaming) return;
      state_ = State::done;
    }
    std::string bytes = last.empty() ? std::string() : Connection::chunk_bytes(last);
    bytes += Connection::last_chunk_bytes();
    connection_->enqueue(serial_, std::move(bytes), true, false);
  }
  void on_client_gone(std::function<void()> callback) override {
    connection_->when_gone(serial_, std::move(callback));
  }
  bool client_gone() const override { return connection_->gone(); }

 private:
  enum class State { fresh, streaming, done };
  bool claim(State next) {
    std::lock_guard lock(mutex_);
    if (state_ != State::fresh) return false;
    state_ = next;
    return true;
  }

  std::shared_ptr<Connection> connection_;
  const std::uint64_t serial_;
  std::mutex mutex_;
  State state_ = State::fresh;
};

}  // namespace

std::shared_ptr<Exchange> Connection::make_exchange() {
  std::uint64_t serial;
  {
    std::lock_guard lock(out_mutex_);
    serial = serial_;
  }
  return std::make_shared<ConnectionExchange>(shared_from_this(), serial);
}

bool Connection::enqueue(std::uint64_t serial, std::string bytes, bool complete,
                         bool wait_for_room) {
  std::unique_lock lock(out_mutex_);
  if (wait_for_room) {
    // Backpressure: the producer (a model call) waits here while the client reads slowly. A write
    // that times out closes the connection, which wakes it with `gone_`.
    room_.wait(lock, [&] {
      return gone_ || serial != serial_ || out_bytes_ < server_.limits.output_buffer_bytes;
    });
  }
  if (gone_ || serial != serial_ || answer_complete_) return false;
  out_bytes_ += bytes.size();
  out_.push_back(std::move(bytes));
  if (complete) answer_complete_ = true;
  if (!write_scheduled_) {
    write_scheduled_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  }
  return true;
}

void Connection::when_gone(std::uint64_t serial, std::function<void()> callback) {
  {
    std::lock_guard lock(out_mutex_);
    if (serial != serial_) return;  // answered already
    if (!gone_) {
      gone_callback_ = std::move(callback);
      return;
    }
  }
  net::post(stream_.get_executor(), std::move(callback));
}

void Connection::do_write() {
  bool answer_written = false;
  {
    std::lock_guard lock(out_mutex_);
    if (gone_) {
      write_scheduled_ = false;
      return;
    }
    if (out_.empty()) {
      write_scheduled_ = false;
      answer_written = answer_complete_;
    } else {
      writing_.assign(std::make_move_iterator(out_.begin()), std::make_move_iterator(out_.end()));
      out_.clear();
    }
  }
  if (writing_.empty()) {
    if (answer_written) on_answer_written();
    return;
  }
  std::vector<net::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const std::string& bytes : writing_) buffers.emplace_back(bytes.data(), bytes.size());
  write_deadline_ = Clock::now() + server_.limits.write_timeout;
  schedule_deadline();
  net::async_write(stream_, buffers,
                   [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                     self->write_deadline_ = kNever;
                     if (ec) {
                       self->close();  // gone, or too slow to read: write_timeout
                       return;
                     }
                     {
                       std::lock_guard lock(self->out_mutex_);
                       self->out_bytes_ -= bytes;
                     }
                     self->room_.notify_all();
                     self->writing_.clear();
                     self->do_write();
                   });
}

void Connection::on_answer_written() {
  {
    std::lock_guard lock(out_mutex_);
    answer_complete_ = false;
    ++serial_;
    gone_callback_ = nullptr;
  }
  room_.notify_all();
  if (phase_ == Phase::closed) return;
  bool stopping;
  {
    std::lock_guard lock(server_.mutex);
    stopping = server_.stopping;
  }
  if (!keep_alive_ || stopping) {
    // Half-close, then read (and drop) what the client still sends for a moment: closing with
    // unread bytes would reset the connection and could destroy the answer before it is read.
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    phase_ = Phase::lingering;
    in_.consume(in_.size());
    arm(std::chrono::milliseconds(2000));
    do_read();
    return;
  }
  enter_idle(server_.limits.idle_timeout);
  if (in_.size() == 0) in_.shrink_to_fit();  // an idle connection keeps no buffer
  advance();                                 // a pipelined request may be waiting already
}

void Connection::close() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  disarm();
  deadline_.cancel();  // its wait holds this connection
  std::function<void()> callback;
  {
    std::lock_guard lock(out_mutex_);
    gone_ = true;
    callback = std::move(gone_callback_);
    gone_callback_ = nullptr;
    out_.clear();
    out_bytes_ = 0;
  }
  room_.notify_all();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
  parser_.reset();
  in_.clear();
  in_.shrink_to_fit();
  server_.forget(this, address_);
  if (callback) callback();
}

void Server::State::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::State::on_accept(beast::error_code ec, tcp::socket socket) {
  {
    std::lock_guard lock(mutex);
    if (stopping) return;
  }
  if (ec) {
    // Out of descriptors (or a similar passing trouble): try again shortly, without spinning.
    retry_accept.expires_after(std::chrono::milliseconds(50));
    retry_accept.async_wait([this](beast::error_code wait_error) {
      if (!wait_error) accept();
    });
    return;
  }
  beast::error_code address_error;
  const tcp::endpoint peer = socket.remote_endpoint(address_error);
  std::string address = address_error ? std::string("-") : peer.address().to_string();
  socket.set_option(tcp::no_delay(true), address_error);
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard lock(mutex);
    std::size_t& from_address = per_address[address];
    if (live.size() >= limits.max_connections || from_address >= limits.max_connections_per_ip) {
      if (from_address == 0) per_address.erase(address);
      ++refused;
    } else {
      ++from_address;
      connection = std::make_shared<Connection>(*this, std::move(socket), address);
      live.emplace(connection.get(), connection);
    }
  }
  if (connection) {
    net::dispatch(connection->executor(), [connection] { connection->start(); });
  } else {
    // Refused at once, without reading: a short 503 the client may or may not see.
    static constexpr std::string_view kRefusal =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n";
    socket.non_blocking(true, ec);
    [[maybe_unused]] const auto sent =
        ::send(socket.native_handle(), kRefusal.data(), kRefusal.size(), MSG_NOSIGNAL);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
  accept();
}

void Server::State::forget(Connection* connection, const std::string& address) {
  std::lock_guard lock(mutex);
  if (live.erase(connection) == 0) return;
  auto it = per_address.find(address);
  if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  release_work_if_drained();
}

void Server::State::release_work_if_drained() {
  if (stopping && live.empty()) work.reset();
}

Server::Server(ServerLimits limits, Handler handler,
               std::function<Reply(const Refusal&)> on_refusal)
    : state_(
          std::make_shared<State>(std::move(limits), std::move(handler), std::move(on_refusal))) {}

Server::~Server() {
  stop();
}

int Server::bind(const std::string& host, int port) {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("'" + host + "' is not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  tcp::acceptor& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(ec.message());
  return acceptor.local_endpoint().port();
}

void Server::serve() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->serving = true;
  }
  net::post(state_->acceptor.get_executor(), [state = state_.get()] { state->accept(); });
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < state_->limits.io_threads; ++i) {
    helpers.emplace_back([this] { state_->io.run(); });
  }
  state_->io.run();
  for (auto& helper : helpers) helper.join();
}

void Server::stop() {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
    for (auto& [raw, weak] : state_->live) {
      if (auto connection = weak.lock()) connections.push_back(std::move(connection));
    }
    state_->release_work_if_drained();
  }
  net::post(state_->acceptor.get_executor(), [state = state_.get()] {
    beast::error_code ec;
    state->acceptor.close(ec);
    state->retry_accept.cancel();
  });
  for (auto& connection : connections) connection->post_close_if_idle();
}

namespace {

class AsioTimer final : public Timer, public std::enable_shared_from_this<AsioTimer> {
 public:
  explicit AsioTimer(net::io_context& io) : timer_(net::make_strand(io)) {}
  void start(std::chrono::milliseconds delay, std::function<void()> callback) {
    timer_.expires_after(delay);
    timer_.async_wait(
        [self = shared_from_this(), callback = std::move(callback)](beast::error_code ec) {
          if (!ec && !self->cancelled_) callback();
        });
  }
  void cancel() override {
    cancelled_ = true;
    net::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
  }

 private:
  net::steady_timer timer_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::shared_ptr<Timer> Server::after(std::chrono::milliseconds delay,
                                     std::function<void()> callback) {
  auto timer = std::make_shared<AsioTimer>(state_->io);
  timer->start(delay, std::move(callback));
  return timer;
}

Counters Server::counters() const {
  std::lock_guard lock(state_->mutex);
  return {state_->live.size(), state_->refused};
}

}  // namespace llmrt::serve::http
