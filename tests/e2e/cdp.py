#!/usr/bin/python3
"""Drives headless Chromium through the DevTools protocol, for the HTML
report's tests: opens a file, waits for the report to say it is ready,
runs the JavaScript expressions it is given one after the other, and prints
one JSON object: what each expression returned, every console message,
exception and log entry, every network request the page made, and the
time from navigation to ready. Optionally saves a screenshot.

Run with Debian's /usr/bin/python3 (python3-websockets).

Usage: cdp.py --chromium PATH --page FILE --steps STEPS.json [--screenshot PNG]
              [--width 1280] [--height 900] [--timeout 60]
STEPS.json: a list of JavaScript expressions (each evaluated in the page,
awaited when it returns a promise; its value returned by value).
"""
import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import websockets


class Session:
    def __init__(self, ws):
        self.ws = ws
        self.next = 0
        self.waiting = {}
        self.events = []
        self.sid = None

    async def reader(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.waiting:
                self.waiting.pop(msg["id"]).set_result(msg)
            elif "method" in msg:
                self.events.append(msg)

    async def call(self, method, params=None, session=True, timeout=60):
        self.next += 1
        q = {"id": self.next, "method": method, "params": params or {}}
        if session and self.sid:
            q["sessionId"] = self.sid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[self.next] = fut
        await self.ws.send(json.dumps(q))
        r = await asyncio.wait_for(fut, timeout)
        if "error" in r:
            raise RuntimeError("%s: %s" % (method, r["error"]))
        return r.get("result", {})


async def drive(a):
    prof = tempfile.mkdtemp(prefix="wscope-cdp-")
    proc = subprocess.Popen([a.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync", "--remote-debugging-port=0",
                             "--user-data-dir=" + prof, "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {"results": [], "console": [], "exceptions": [], "log": [], "requests": []}
    try:
        port_file = os.path.join(prof, "DevToolsActivePort")
        t0 = time.monotonic()
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.monotonic() - t0 > 30:
                raise RuntimeError("Chromium did not start")
            await asyncio.sleep(0.05)
        with open(port_file) as f:
            port, path = f.read().split("\n")[:2]
        async with websockets.connect("ws://127.0.0.1:%s%s" % (port, path), max_size=1 << 28) as ws:
            s = Session(ws)
            rd = asyncio.create_task(s.reader())
            t = await s.call("Target.createTarget", {"url": "about:blank"}, session=False)
            at = await s.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True}, session=False)
            s.sid = at["sessionId"]
            for dom in ("Page", "Runtime", "Log", "Network"):
                await s.call(dom + ".enable")
            await s.call("Emulation.setDeviceMetricsOverride", {"width": a.width, "height": a.height,
                                                                "deviceScaleFactor": 1, "mobile": False})
            url = "file://" + os.path.abspath(a.page)
            start = time.monotonic()
            await s.call("Page.navigate", {"url": url})
            ready = False
            while time.monotonic() - start < a.timeout:
                r = await s.call("Runtime.evaluate", {"expression": "window.wscopeReady === true", "returnByValue": True})
                if r.get("result", {}).get("value") is True:
                    ready = True
                    break
                await asyncio.sleep(0.05)
            out["ready"] = ready
            out["wall_ms"] = (time.monotonic() - start) * 1000
            r = await s.call("Runtime.evaluate", {"expression": "window.wscopeReadyMs", "returnByValue": True})
            out["ready_ms"] = r.get("result", {}).get("value")
            with open(a.steps) as f:
                steps = json.load(f)
            for expr in steps:
                r = await s.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                                 timeout=a.timeout)
                if "exceptionDetails" in r:
                    out["results"].append({"error": r["exceptionDetails"].get("text", "") + " " +
                                           json.dumps(r["exceptionDetails"].get("exception", {}).get("description", ""))})
                else:
                    out["results"].append(r.get("result", {}).get("value"))
            if a.screenshot:
                shot = await s.call("Page.captureScreenshot", {"format": "png"})
                with open(a.screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            await asyncio.sleep(0.2)
            for ev in s.events:
                m, p = ev["method"], ev.get("params", {})
                if m == "Runtime.consoleAPICalled":
                    out["console"].append({"type": p.get("type"), "text": " ".join(
                        str(x.get("value", x.get("description", ""))) for x in p.get("args", []))})
                elif m == "Runtime.exceptionThrown":
                    out["exceptions"].append(p.get("exceptionDetails", {}).get("text", "") + " " + json.dumps(
                        p.get("exceptionDetails", {}).get("exception", {}).get("description", "")))
                elif m == "Log.entryAdded":
                    e = p.get("entry", {})
                    out["log"].append({"level": e.get("level"), "source": e.get("source"), "text": e.get("text")})
                elif m == "Network.requestWillBeSent":
                    out["requests"].append(p.get("request", {}).get("url", ""))
            rd.cancel()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(prof, ignore_errors=True)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--page", required=True)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--timeout", type=float, default=60)
    asyncio.run(drive(ap.parse_args()))


if __name__ == "__main__":
    main()
