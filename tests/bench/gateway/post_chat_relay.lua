-- wrk script: POST one OpenAI chat request for the "bench-upstream" model (the openai plugin
-- relaying to llmrt_bench_bare_server), with a client key. Used by run_openai_relay_bench.sh
-- against `llmrt serve` and against the bare upstream itself (which answers any model).
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0123456789abcdef0123456789abcdef"
wrk.body = '{"model":"bench-upstream","messages":[{"role":"system","content":"You are a helpful'
  .. ' assistant."},{"role":"user","content":"Write one short sentence about the sea, the wind'
  .. ' and the light over the harbour."}],"stream":false}'
