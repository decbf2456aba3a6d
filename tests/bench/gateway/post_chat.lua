-- wrk script: POST one OpenAI chat request (212 bytes) for the "echo" model, with a client key.
-- Used by run_gateway_bench.sh against `llmrt serve` and against llmrt_bench_bare_server, which
-- answers it with the same body the gateway gives (bare_server.cpp's defaults match this file).
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0123456789abcdef0123456789abcdef"
wrk.body = '{"model":"echo","messages":[{"role":"system","content":"You are a helpful assistant."},'
  .. '{"role":"user","content":"Write one short sentence about the sea, the wind and the light'
  .. ' over the harbour."}],"stream":false}'
