-- wrk script for the sim-over-HTTP benchmark (bench/README.md): POSTs an OpenAI chat body.
wrk.method = "POST"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"What is the status of Taiwan?"}]}'
wrk.headers["Content-Type"] = "application/json"
