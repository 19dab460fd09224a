"""
A stdlib-only stand-in for eric-sse 0.6.1's SocketServer and SocketClient (PyPI is out of
reach on the build machines). It reproduces, from eric-sse's source, exactly what goes on
the wire: the client's JSON commands and half-close, the server's bare replies, its
`repr(exception)` error replies, and its `json.dumps(event) + linesep` stream lines. The
channel model keeps the 0.6 semantics the protocol exposes (sequential ids, list queues,
a stream loop that sleeps `stream_delay_seconds` between polls, `l` not starting the
listener).

Usage:
  python3 eric_sse_peer.py serve PATH     run the server (prints "serving on PATH")
  python3 eric_sse_peer.py client PATH    run the client scenario against PATH, print a JSON report
"""
import asyncio
import json
import signal
import sys
from asyncio import StreamReader, StreamWriter, open_unix_connection, start_unix_server
from os import linesep
from pathlib import Path

MESSAGE_TYPE_CLOSED = '_eric_channel_closed'


class InvalidChannelException(Exception): ...
class InvalidListenerException(Exception): ...
class InvalidMessageFormat(Exception): ...
class NoMessagesException(Exception): ...


class Message:
    def __init__(self, type, payload=None):
        self.type = type
        self.payload = payload


class MessageQueueListener:
    NEXT_ID = 1

    def __init__(self):
        self.id = str(MessageQueueListener.NEXT_ID)
        MessageQueueListener.NEXT_ID += 1
        self.__is_running = False

    def start_sync(self):
        self.__is_running = True

    async def is_running(self):
        return self.__is_running

    async def stop(self):
        self.__is_running = False


class SSEChannel:
    NEXT_ID = 1

    def __init__(self, stream_delay_seconds=0, retry_timeout_milliseconds=5):
        self.id = str(SSEChannel.NEXT_ID)
        SSEChannel.NEXT_ID += 1
        self.listeners = {}
        self.queues = {}
        self.stream_delay_seconds = stream_delay_seconds
        self.retry_timeout_milliseconds = retry_timeout_milliseconds

    def add_listener(self):
        l = MessageQueueListener()
        self.listeners[l.id] = l
        self.queues[l.id] = []
        return l

    def remove_listener(self, l_id):
        del self.queues[l_id]
        del self.listeners[l_id]

    def get_listener(self, listener_id):
        try:
            return self.listeners[listener_id]
        except KeyError:
            raise InvalidListenerException

    def __get_queue(self, listener_id):
        try:
            return self.queues[listener_id]
        except KeyError:
            raise InvalidListenerException(f"Invalid listener {listener_id}")

    def dispatch(self, listener_id, msg):
        self.__get_queue(listener_id).append(msg)

    def broadcast(self, msg):
        for listener_id in self.listeners.keys():
            self.dispatch(listener_id, msg=msg)

    def deliver_next(self, listener_id):
        if self.get_listener(listener_id)._MessageQueueListener__is_running:
            try:
                return self.__get_queue(listener_id).pop(0)
            except IndexError:
                raise NoMessagesException
        raise NoMessagesException

    def adapt(self, msg):
        return {'event': msg.type, 'retry': self.retry_timeout_milliseconds, 'data': msg.payload}

    async def message_stream(self, listener):
        def new_messages():
            try:
                yield self.deliver_next(listener.id)
            except NoMessagesException:
                ...

        async def event_generator():
            while True:
                if not await listener.is_running():
                    break
                try:
                    for message in new_messages():
                        yield self.adapt(message)
                    await asyncio.sleep(self.stream_delay_seconds)
                except InvalidChannelException:
                    await listener.stop()
                    yield self.adapt(Message(type=MESSAGE_TYPE_CLOSED))

        return event_generator()

    async def watch(self):
        listener = self.add_listener()
        listener.start_sync()
        return await self.message_stream(listener)


class SSEChannelContainer:
    def __init__(self):
        self.__channels = {}

    def add(self):
        channel = SSEChannel()
        self.__channels[channel.id] = channel
        return channel

    def get(self, channel_id):
        try:
            return self.__channels[channel_id]
        except KeyError:
            raise InvalidChannelException(f'No channel with id {channel_id}')

    def rm(self, channel_id):
        try:
            del self.__channels[channel_id]
        except KeyError:
            raise InvalidChannelException(f'No channel with id {channel_id}')


class SocketServer:
    cc = SSEChannelContainer()
    ACK = 'ack'

    def __init__(self, file_descriptor_path):
        self.__file_descriptor_path = file_descriptor_path
        self.__unix_server = None

    @staticmethod
    def __parse(json_raw):
        try:
            parsed = json.loads(json_raw)
            verb = parsed['v']
            channel_id = parsed.get('c')
            message = None
            if verb not in ['w', 'c', 'l', 'r', 'rl', 'rc']:
                message = Message(type=parsed['t'], payload=parsed.get('p'))
            receiver_id = parsed.get('r')
            return channel_id, verb, message, receiver_id
        except KeyError:
            raise InvalidMessageFormat(json_raw)

    @staticmethod
    async def connect_callback(reader: StreamReader, writer: StreamWriter):
        try:
            message_content = await reader.read()
            async for response in SocketServer.handle_command(message_content.decode()):
                writer.write(response.encode())
            writer.write_eof()
            await writer.drain()
        except Exception as e:
            writer.write(repr(e).encode())
            writer.write_eof()
            await writer.drain()

    @staticmethod
    async def handle_command(raw_command):
        channel_id, verb, message, receiver_id = SocketServer.__parse(raw_command)
        if verb == 'd':
            SocketServer.cc.get(channel_id).dispatch(receiver_id, message)
            yield SocketServer.ACK
        elif verb == 'c':
            yield SocketServer.cc.add().id
        elif verb == 'b':
            SocketServer.cc.get(channel_id).broadcast(message)
            yield SocketServer.ACK
        elif verb == 'r':
            yield SocketServer.cc.get(channel_id).add_listener().id
        elif verb == 'rl':
            SocketServer.cc.get(channel_id).remove_listener(l_id=receiver_id)
            yield SocketServer.ACK
        elif verb == 'rc':
            SocketServer.cc.rm(channel_id)
            yield SocketServer.ACK
        elif verb == 'l':
            channel = SocketServer.cc.get(channel_id)
            async for m in await channel.message_stream(channel.get_listener(receiver_id)):
                yield f'{json.dumps(m)}{linesep}'
        elif verb == 'w':
            channel = SocketServer.cc.get(channel_id)
            async for m in await channel.watch():
                yield f'{json.dumps(m)}{linesep}'

    async def shutdown(self):
        self.__unix_server.close()
        await self.__unix_server.wait_closed()
        Path(self.__file_descriptor_path).unlink()

    async def main(self):
        server = await start_unix_server(SocketServer.connect_callback, path=Path(self.__file_descriptor_path))
        self.__unix_server = server
        print(f'serving on {self.__file_descriptor_path}', flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            server.get_loop().add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()
            await self.shutdown()


class SocketClient:
    def __init__(self, file_descriptor_path):
        self.__descriptor_path = Path(file_descriptor_path)

    async def send_payload(self, payload):
        r, w = await open_unix_connection(self.__descriptor_path)
        w.write(json.dumps(payload).encode())
        w.write_eof()
        response = await r.read()
        await w.drain()
        w.close()
        await w.wait_closed()
        return response.decode()

    async def create_channel(self):
        return await self.send_payload({'v': 'c'})

    async def register(self, channel_id):
        return await self.send_payload({'v': 'r', 'c': channel_id})

    async def stream(self, channel_id, listener_id):
        r, w = await open_unix_connection(self.__descriptor_path)
        w.write(json.dumps({'c': channel_id, 'r': listener_id, 'v': 'l'}).encode())
        w.write_eof()
        await w.drain()
        while not r.at_eof():
            m = await r.readline()
            yield m.decode()

    async def broadcast_message(self, channel_id, message_type, payload):
        return await self.send_payload({'v': 'b', 'c': channel_id, 't': message_type, 'p': payload})

    async def dispatch(self, channel_id, receiver_id, message_type, payload):
        return await self.send_payload({'v': 'd', 'c': channel_id, 'r': receiver_id, 't': message_type, 'p': payload})

    async def remove_listener(self, channel_id, listener_id):
        return await self.send_payload({'v': 'rl', 'c': channel_id, 'r': listener_id})

    async def remove_channel(self, channel_id):
        return await self.send_payload({'v': 'rc', 'c': channel_id})


async def client_scenario(path):
    """Drives a server the way an eric-sse application would; returns every reply."""
    client = SocketClient(path)
    report = {}
    c = report['create_channel'] = await client.create_channel()
    l = report['register'] = await client.register(c)
    report['dispatch'] = await client.dispatch(c, l, 'hello', {'n': 1, 'text': 'h\u00e9llo'})
    report['dispatch_none'] = await client.dispatch(c, l, 'bare', None)
    report['broadcast'] = await client.broadcast_message(c, 'news', 'to all')
    lines = []
    stream = client.stream(c, l)
    async for line in stream:
        lines.append(line)
        if len(lines) == 3:
            break
    await stream.aclose()
    report['stream'] = lines
    report['register_unknown_channel'] = await client.register('999')
    report['dispatch_unknown_listener'] = await client.dispatch(c, '999', 'x', None)
    report['dispatch_without_type'] = await client.send_payload({'v': 'd', 'c': c, 'r': l})
    report['malformed'] = await client.send_payload('not an object')
    l2 = await client.register(c)
    report['remove_listener'] = await client.remove_listener(c, l2)
    report['remove_channel'] = await client.remove_channel(c)
    report['after_remove'] = await client.register(c)
    return report


if __name__ == '__main__':
    mode, path = sys.argv[1], sys.argv[2]
    if mode == 'serve':
        asyncio.run(SocketServer(path).main())
    elif mode == 'client':
        print(json.dumps(asyncio.run(client_scenario(path))))
    else:
        sys.exit(f'unknown mode {mode}')
