import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { MAX_ROOMS_PER_CONNECTION, type ServerFrame } from '../../src/lib/transport/signaling-protocol';

let server: SignalingServer;
beforeAll(async () => {
	server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
});
afterAll(() => server.close());

/** A raw client; `next(type)` takes the oldest unread frame of that type, waiting for one if needed. */
async function client() {
	const ws = new WebSocket(server.url.replace('http', 'ws') + '/signal');
	const frames: ServerFrame[] = [];
	const unread: ServerFrame[] = [];
	const waiters: { type: string; resolve: (f: ServerFrame) => void }[] = [];
	ws.on('message', (data) => {
		const frame = JSON.parse(data.toString()) as ServerFrame;
		frames.push(frame);
		const i = waiters.findIndex((w) => w.type === frame.type);
		if (i >= 0) waiters.splice(i, 1)[0]!.resolve(frame);
		else unread.push(frame);
	});
	const next = (type: string) =>
		new Promise<ServerFrame>((resolve) => {
			const i = unread.findIndex((f) => f.type === type);
			if (i >= 0) resolve(unread.splice(i, 1)[0]!);
			else waiters.push({ type, resolve });
		});
	const welcome = (await next('welcome')) as { self: string };
	return { ws, frames, next, self: welcome.self };
}

const ROOM = 'a'.repeat(32);

describe('signaling server', () => {
	it('introduces peers of a room and forwards signals only to the named peer in it', async () => {
		const a = await client();
		const b = await client();
		const outsider = await client();
		a.ws.send(JSON.stringify({ type: 'join', room: ROOM }));
		expect(await a.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [] });
		b.ws.send(JSON.stringify({ type: 'join', room: ROOM }));
		expect(await b.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [a.self] });
		expect(await a.next('peer-joined')).toEqual({ type: 'peer-joined', room: ROOM, peer: b.self });
		b.ws.send(JSON.stringify({ type: 'signal', room: ROOM, to: a.self, data: { type: 'offer', sdp: 'x' } }));
		expect(await a.next('signal')).toEqual({ type: 'signal', room: ROOM, from: b.self, data: { type: 'offer', sdp: 'x' } });
		outsider.ws.send(JSON.stringify({ type: 'signal', room: ROOM, to: a.self, data: { sdp: 'y' } }));
		expect(await outsider.next('error')).toMatchObject({ code: 'not-in-room' });
		b.ws.close();
		expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: ROOM, peer: b.self });
		expect(a.frames.filter((f) => f.type === 'signal')).toHaveLength(1); // b's, not the outsider's
		a.ws.close();
		outsider.ws.close();
	});

	it('answers bad frames with an error, counts them, and keeps serving', async () => {
		const a = await client();
		const before = server.rooms.stats.framesRejected;
		const bad = ['', 'nope', '[]', '{"type":"join"}', '{"type":"join","room":"short"}', '{"type":"dance","room":"' + ROOM + '"}', '{"type":"signal","room":"' + ROOM + '","to":"zz","data":{}}'];
		for (const frame of bad) a.ws.send(frame);
		a.ws.send(Buffer.from([1, 2, 3]));
		for (let i = 0; i < bad.length + 1; i++) expect(await a.next('error')).toMatchObject({ type: 'error' });
		expect(server.rooms.stats.framesRejected - before).toBe(bad.length + 1);
		a.ws.send(JSON.stringify({ type: 'join', room: ROOM }));
		expect(await a.next('joined')).toMatchObject({ room: ROOM });
		a.ws.close();
	});

	it(`limits a connection to ${MAX_ROOMS_PER_CONNECTION} rooms`, async () => {
		const a = await client();
		for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) a.ws.send(JSON.stringify({ type: 'join', room: `room${i}`.padEnd(32, 'x') }));
		for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) await a.next('joined');
		a.ws.send(JSON.stringify({ type: 'join', room: 'one-too-many'.padEnd(32, 'x') }));
		expect(await a.next('error')).toMatchObject({ code: 'too-many-rooms' });
		a.ws.close();
	});

	it('answers health checks', async () => {
		const response = await fetch(`${server.url}/healthz`);
		expect(await response.text()).toBe('ok');
	});
});
