import asyncio, json, sys, websockets
PORT = int(sys.argv[1]); LOG = sys.argv[2]
sent = []
async def handler(ws, path):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(handler, '127.0.0.1', PORT, compression=None):
        async with websockets.connect('ws://127.0.0.1:%d/live' % PORT, compression=None) as c:
            for i in range(20):
                msg = 'live message %d ✓ 안녕' % i if i % 2 == 0 else bytes([i]) * (i * 500)
                await c.send(msg); sent.append(msg)
                assert (await c.recv()) == msg
    with open(LOG, 'w') as f:
        for m in sent:
            f.write(json.dumps({'text': m} if isinstance(m, str) else {'hex': m.hex()}) + '\n')
asyncio.run(main())
