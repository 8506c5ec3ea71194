#!/usr/bin/env python3
"""A slow fake Gemini for scripts/check-proxy-configs.sh: streams three SSE chunks one
second apart, so a proxy that buffers the stream is caught. Usage: slow_gemini.py PORT"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def chunk(text, final=False):
    body = {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
            "modelVersion": "gemini-flash-latest"}
    if final:
        body["candidates"][0]["finishReason"] = "STOP"
        body["usageMetadata"] = {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8}
    return ("data: " + json.dumps(body, ensure_ascii=False) + "\r\n\r\n").encode()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):  # the start-up probe: GET /v1beta/models/{model}
        body = json.dumps({"name": "models/" + self.path.rsplit("/", 1)[-1]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if ":streamGenerateContent" in self.path:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            for i, text in enumerate(["Первая часть. ", "Вторая часть. ", "Третья."]):
                if i:
                    time.sleep(1)
                self.wfile.write(chunk(text, final=(i == 2)))
                self.wfile.flush()
            self.close_connection = True
        else:
            body = json.dumps({"candidates": [{"content": {"parts": [{"text": "Ответ."}], "role": "model"},
                                               "finishReason": "STOP", "index": 0}]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
