// The network settings users expect, through the anthropic plugin (the code is shared with the
// openai plugin, plugins/common): a custom CA (a self-signed certificate made here with OpenSSL),
// per model (ca_file) or for the process (SSL_CERT_FILE), and HTTPS through an HTTP CONNECT proxy
// (HTTPS_PROXY, NO_PROXY).
//
// The plugin reads the proxy and CA variables from the process environment, as OpenAI's and
// Anthropic's SDKs do, so each test sets them and puts them back.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <llmrt/llmrt.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "fake_anthropic_server.hpp"
#include "tcp_relay.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;

// A self-signed certificate for 127.0.0.1 (subjectAltName IP, CA:TRUE so that it can be its own
// trust anchor), written as PEM files into `dir`.
struct SelfSignedCertificate {
  std::string cert_file;
  std::string key_file;

  explicit SelfSignedCertificate(const std::filesystem::path& dir) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("llmrt test CA"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                     std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
      X509_add_ext(cert, extension, -1);
      X509_EXTENSION_free(extension);
    }
    X509_sign(cert, key, EVP_sha256());
    cert_file = (dir / "cert.pem").string();
    key_file = (dir / "key.pem").string();
    FILE* out = std::fopen(cert_file.c_str(), "w");
    PEM_write_X509(out, cert);
    std::fclose(out);
    out = std::fopen(key_file.c_str(), "w");
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

// Sets an environment variable for one scope, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Upstream {
  TempDir files;
  SelfSignedCertificate certificate{files.path()};
  FakeAnthropicServer server{
      {.cert_file = certificate.cert_file, .key_file = certificate.key_file}};
  TcpRelay proxy{TcpRelay::connect_proxy()};
  TempDir user;

  Upstream() {
    json::array models;
    models.push_back({{"id", "claude-tls-ca"},
                      {"model", "fake-model"},
                      {"api_base", server.base_url()},
                      {"ca_file", certificate.cert_file}});
    models.push_back(
        {{"id", "claude-tls-system"}, {"model", "fake-model"}, {"api_base", server.base_url()}});
    std::ofstream(user.path() / "anthropic-models.json") << json::serialize(models);
  }
};

Upstream& upstream() {
  static Upstream shared;
  return shared;
}

class AnthropicNetwork : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream();
    for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                             "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"}) {
      saved_.emplace_back(std::make_unique<ScopedEnv>(name, ""));
      ::unsetenv(name);
    }
    runtime_ = std::make_unique<Runtime>(isolated_config(upstream().user.path(), environment_));
  }

  Response prompt(std::string_view id, const std::string& text, const std::string& key) {
    return runtime_->get_model(id).prompt(text, {.key = Key(key)});
  }

  Error prompt_error(std::string_view id, const std::string& text, const std::string& key) {
    try {
      const Response response = prompt(id, text, key);
      ADD_FAILURE() << id << " answered: " << response.text;
    } catch (const Error& error) {
      return error;
    }
    return Error(ErrorCode::usage, "none");
  }

  std::vector<std::unique_ptr<ScopedEnv>> saved_;
  FakeEnvironment environment_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(AnthropicNetwork, ModelCaFileTrustsASelfSignedServer) {
  const std::string key = "sk-ant-test-tls-1";
  EXPECT_EQ(prompt("claude-tls-ca", "over tls", key).text,
            FakeAnthropicServer::answer_for("over tls"));
  const auto requests = upstream().server.requests_for("over tls");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("x-api-key"), key);
}

TEST_F(AnthropicNetwork, UnknownCaIsRefusedWithoutRetriesOrKey) {
  const std::string key = "sk-ant-test-tls-2";
  const Error error = prompt_error("claude-tls-system", "untrusted", key);
  EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
  const std::string message = error.what();
  EXPECT_NE(message.find("could not be verified"), std::string::npos) << message;
  EXPECT_EQ(message.find("failed after"), std::string::npos) << message;  // not transient
  EXPECT_EQ(message.find(key), std::string::npos) << message;
  EXPECT_TRUE(upstream().server.requests_for("untrusted").empty());  // the key never left
}

TEST_F(AnthropicNetwork, SslCertFileTrustsTheServerForEveryModel) {
  ScopedEnv cert_file("SSL_CERT_FILE", upstream().certificate.cert_file);
  EXPECT_EQ(prompt("claude-tls-system", "trusted by SSL_CERT_FILE", "sk-ant-test-tls-3").text,
            FakeAnthropicServer::answer_for("trusted by SSL_CERT_FILE"));
}

TEST_F(AnthropicNetwork, HttpsGoesThroughTheProxyAsAConnectTunnel) {
  ScopedEnv proxy("HTTPS_PROXY", "http://127.0.0.1:" + std::to_string(upstream().proxy.port()));
  const std::string key = "sk-ant-test-proxy";
  const std::size_t before = upstream().proxy.connect_lines().size();
  EXPECT_EQ(prompt("claude-tls-ca", "through the proxy", key).text,
            FakeAnthropicServer::answer_for("through the proxy"));
  const auto lines = upstream().proxy.connect_lines();
  ASSERT_EQ(lines.size(), before + 1);
  EXPECT_EQ(lines.back(),
            "CONNECT 127.0.0.1:" + std::to_string(upstream().server.port()) + " HTTP/1.1");
  EXPECT_EQ(lines.back().find(key), std::string::npos);  // the key is inside the tunnel only
  ASSERT_EQ(upstream().server.requests_for("through the proxy").size(), 1u);
}

TEST_F(AnthropicNetwork, NoProxyListsHostsThatGoDirect) {
  ScopedEnv proxy("HTTPS_PROXY", "http://127.0.0.1:" + std::to_string(upstream().proxy.port()));
  ScopedEnv no_proxy("NO_PROXY", "example.com, 127.0.0.1");
  const std::size_t before = upstream().proxy.connections();
  EXPECT_EQ(prompt("claude-tls-ca", "not through the proxy", "sk-ant-test-direct").text,
            FakeAnthropicServer::answer_for("not through the proxy"));
  EXPECT_EQ(upstream().proxy.connections(), before);
}

TEST_F(AnthropicNetwork, ProxyThatCannotBeUsedIsAClearError) {
  ScopedEnv proxy("HTTPS_PROXY", "http://user:secret-password@127.0.0.1:3128");
  const Error error = prompt_error("claude-tls-ca", "bad proxy", "sk-ant-test-badproxy");
  const std::string message = error.what();
  EXPECT_NE(message.find("HTTPS_PROXY"), std::string::npos) << message;
  EXPECT_EQ(message.find("secret-password"), std::string::npos) << message;
}

}  // namespace
}  // namespace llmrt::test
