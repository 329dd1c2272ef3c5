"""The hub's browser page in headless Chromium (Debian's chromium): two tabs
chat. Run by browser_test.sh, which starts the hub (HUB_PORT) and passes
the browser in CHROMIUM.

The tabs are driven over the Chrome DevTools Protocol (a WebSocket, spoken
here with Python's websockets): each step sets inputs and clicks buttons by
the element ids the page documents (page.h), then waits for the page to
show the result.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import websockets

TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT", "120"))
HUB = f"http://127.0.0.1:{os.environ['HUB_PORT']}/"
CHROMIUM = os.environ.get("CHROMIUM", "chromium")


class Browser:
    """One headless Chromium and its DevTools connection."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check",
             "--disable-background-timer-throttling",
             "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ws = None
        self.next_id = 0

    async def connect(self):
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.process.stderr.readline)
            if not line:
                raise RuntimeError("chromium exited before DevTools listened")
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                break
        self.ws = await websockets.connect(found.group(1), max_size=None,
                                           ping_interval=None)

    async def call(self, method, session=None, **params):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params}
        if session:
            request["sessionId"] = session
        await self.ws.send(json.dumps(request))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def open_tab(self, url):
        target = (await self.call("Target.createTarget", url=url))["targetId"]
        attached = await self.call("Target.attachToTarget", targetId=target,
                                   flatten=True)
        return Tab(self, attached["sessionId"])

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Tab:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    async def eval(self, expression):
        result = await self.browser.call(
            "Runtime.evaluate", self.session, expression=expression,
            returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression, what):
        """Polls `expression` until it is truthy (the page updates live)."""
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while True:
            try:
                if await self.eval(expression):
                    return
            except RuntimeError:
                pass  # the page is still loading
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def fill(self, element, value):
        await self.eval(f"document.getElementById({json.dumps(element)}).value = "
                        f"{json.dumps(value)}")

    async def click(self, element):
        await self.eval(f"document.getElementById({json.dumps(element)}).click()")

    async def texts(self, element):
        return await self.eval(
            f"[...document.getElementById({json.dumps(element)}).children]"
            ".map(e => e.textContent)")


def contains(element, text):
    return (f"[...document.getElementById({json.dumps(element)}).children]"
            f".some(e => e.textContent.includes({json.dumps(text)}))")


class BrowserTest(unittest.TestCase):
    def test_two_tabs_join_a_room_and_chat(self):
        async def scenario():
            browser = Browser()
            try:
                await browser.connect()
                ada = await browser.open_tab(HUB)
                bob = await browser.open_tab(HUB)
                for tab, name in ((ada, "ada"), (bob, "bob")):
                    await tab.wait_for(
                        "document.getElementById('status').textContent === 'connected'",
                        f"{name}'s tab to connect")
                    await tab.fill("name", name)
                    await tab.fill("room", "tabs")
                    await tab.click("join")
                    await tab.wait_for(
                        "document.getElementById('status').textContent === 'in tabs'",
                        f"{name} to join")
                await ada.wait_for(contains("members", "bob"), "bob in ada's members")
                await ada.fill("text", "hello from ada")
                await ada.click("send")
                await bob.wait_for(contains("messages", "ada: hello from ada"),
                                   "ada's message in bob's tab")
                await bob.fill("text", "hi ada")
                await bob.click("send")
                await ada.wait_for(contains("messages", "bob: hi ada"),
                                   "bob's reply in ada's tab")
                return (await ada.texts("messages"), await bob.texts("members"),
                        await ada.texts("members"))
            finally:
                browser.close()

        ada_messages, bob_members, ada_members = asyncio.run(
            asyncio.wait_for(scenario(), 4 * TIMEOUT))
        chat = [m for m in ada_messages if ": " in m]
        # Both tabs see the room's canonical order, numbered from 1.
        self.assertEqual(chat, ["#1 ada: hello from ada", "#2 bob: hi ada"])
        self.assertEqual(sorted(bob_members), ["ada", "bob"])
        self.assertEqual(sorted(ada_members), ["ada", "bob"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
