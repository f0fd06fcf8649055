import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, configFromEnv, DEFAULT_LIMITS, type Limits } from '../../signaling/config';
import { jsonLogger, silentLogger } from '../../signaling/log';
import { DEFAULT_MAILBOX_LIMITS, mailboxItemCost, MemoryMailbox } from '../../signaling/mailbox';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../signaling/server';
import { SignalingClient, signalingUrlFor, type WebSocketLike } from '../../src/lib/transport/signaling-client';
import {
	CLOSE_CODES,
	MAILBOX_PAGE_BYTES,
	mailboxPages,
	MAX_MAILBOX_ITEM_BYTES,
	MAX_SIGNALING_FRAME_BYTES,
	MIN_MAILBOX_ITEM_BYTES,
	parseClientFrame,
	parseServerFrame,
	signMailboxOp,
	takeFrames,
	type MailboxItem
} from '../../src/lib/transport/signaling-protocol';
import { keyedRoom, type KeyedRoom } from '../helpers/rooms';
import { rawClient, type RawClient } from '../helpers/signaling-client';

const ROOM = 'a'.repeat(32);
/** Account rooms: each id the hash of its key, whose holder may use the mailbox. */
const [BOX, BOX_B, BOX_C] = [keyedRoom(), keyedRoom(), keyedRoom()] as [KeyedRoom, KeyedRoom, KeyedRoom];

/** Joins `room` with its key, as a device of the account does. */
function joinWithKey(client: RawClient, room: KeyedRoom): void {
	client.send({ type: 'join', room: room.room, key: room.key });
}

/** A deposit signed with the room key for this socket. */
function deposit(client: RawClient, room: KeyedRoom, item: MailboxItem): void {
	client.send(signMailboxOp(room.auth, client.self, { type: 'deposit', room: room.room, ...item }));
}

/** A take signed with the room key for this socket. */
function take(client: RawClient, room: KeyedRoom, ids: string[]): void {
	client.send(signMailboxOp(room.auth, client.self, { type: 'take', room: room.room, ids }));
}
/** A client that has joined BOX (or the rooms given) with the room key, and read its mailbox frames so far. */
async function member(s: SignalingServer, ...rooms: KeyedRoom[]): Promise<RawClient> {
	const client = await rawClient(s.url);
	for (const room of rooms.length > 0 ? rooms : [BOX]) {
		joinWithKey(client, room);
		await client.next('joined');
	}
	return client;
}

const servers: SignalingServer[] = [];
afterEach(async () => {
	await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(options: SignalingServerOptions = {}): Promise<SignalingServer> {
	const started = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger, ...options });
	servers.push(started);
	return started;
}

async function withLimits(limits: Partial<Limits>) {
	return server({ limits });
}

describe('signaling server: rooms', () => {
	it('introduces peers of a room and forwards signals only to the named peer in it', async () => {
		const { url } = await server({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] });
		const a = await rawClient(url);
		const b = await rawClient(url);
		const outsider = await rawClient(url);
		expect(a.frames[0]).toMatchObject({ type: 'welcome', iceServers: [{ urls: 'stun:stun.example.org:3478' }] });
		a.send({ type: 'join', room: ROOM });
		expect(await a.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [] });
		b.send({ type: 'join', room: ROOM });
		expect(await b.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [a.self] });
		expect(await a.next('peer-joined')).toEqual({ type: 'peer-joined', room: ROOM, peer: b.self });
		b.send({ type: 'signal', room: ROOM, to: a.self, data: { type: 'offer', sdp: 'x' } });
		expect(await a.next('signal')).toEqual({ type: 'signal', room: ROOM, from: b.self, data: { type: 'offer', sdp: 'x' } });
		outsider.send({ type: 'signal', room: ROOM, to: a.self, data: { sdp: 'y' } });
		expect(await outsider.next('error')).toMatchObject({ code: 'not-in-room' });
		b.ws.close();
		expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: ROOM, peer: b.self });
		expect(a.frames.filter((f) => f.type === 'signal')).toHaveLength(1); // b's, not the outsider's
		a.ws.close();
		outsider.ws.close();
	});

	it('serves health and Prometheus metrics', async () => {
		const s = await server();
		const a = await rawClient(s.url);
		a.send('not json');
		await a.closed;
		expect(await (await fetch(`${s.url}/healthz`)).text()).toBe('ok');
		const metrics = await (await fetch(`${s.url}/metrics`)).text();
		expect(metrics).toContain('# TYPE samen_connections gauge');
		expect(metrics).toMatch(/^samen_frames_rejected_total\{reason="malformed"\} 1$/m);
		expect(metrics).toMatch(/^samen_rooms 0$/m);
	});

	it('logs structured lines that name no room, peer or address', async () => {
		const lines: string[] = [];
		const s = await startSignalingServer({ port: 0, host: '127.0.0.1', log: jsonLogger((line) => lines.push(line)) });
		const a = await rawClient(s.url);
		a.send({ type: 'join', room: ROOM });
		await a.next('joined');
		const b = await rawClient(s.url);
		b.send({ type: 'join', room: 'nope' });
		await b.closed;
		await s.close();
		expect(lines.map((line) => JSON.parse(line).event)).toEqual(['listening', 'frame-refused', 'shutting-down']);
		for (const secret of [ROOM, a.self, b.self, '127.0.0.1']) expect(lines.join('\n')).not.toContain(secret);
	});

	it('tells clients to reconnect when it shuts down', async () => {
		const s = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
		const a = await rawClient(s.url);
		await s.close();
		expect(await a.closed).toEqual({ code: CLOSE_CODES.restarting, reason: 'server restarting' });
	});

	it('refuses pages from other origins', async () => {
		const s = await server();
		const refused = new WebSocket(s.url.replace('http', 'ws') + '/signal', { headers: { origin: 'https://evil.example' } });
		const error = await new Promise<Error>((resolve) => refused.on('error', resolve));
		expect(error.message).toContain('403');
		const own = await rawClient(s.url, { headers: { origin: s.url } });
		expect(own.self).toMatch(/^[0-9a-f]{16}$/);
		own.ws.close();
	});
});

describe('signaling server: limits, at and just past each bound', () => {
	it('frame size', async () => {
		const max = 2048;
		const s = await withLimits({ maxFrameBytes: max });
		const frame = (size: number) => {
			const base = JSON.stringify({ type: 'join', room: ROOM });
			return base.slice(0, -1) + ' '.repeat(size - base.length) + '}';
		};
		const a = await rawClient(s.url);
		a.send(frame(max));
		expect(await a.next('joined')).toMatchObject({ room: ROOM });
		a.send(frame(max + 1));
		expect((await a.closed).code).toBe(CLOSE_CODES.tooLarge);
	});

	it('rooms per connection', async () => {
		const s = await withLimits({ maxRoomsPerConnection: 3 });
		const a = await rawClient(s.url);
		for (let i = 0; i < 3; i++) a.send({ type: 'join', room: `room${i}`.padEnd(32, 'x') });
		for (let i = 0; i < 3; i++) await a.next('joined');
		a.send({ type: 'join', room: 'one-too-many'.padEnd(32, 'x') });
		expect(await a.closed).toEqual({ code: CLOSE_CODES.tooManyRooms, reason: 'at most 3 rooms per connection' });
	});

	it('frames per second (token bucket)', async () => {
		const s = await withLimits({ framesPerSecond: 5, frameBurst: 10 });
		const atBound = await rawClient(s.url);
		for (let i = 0; i < 10; i++) atBound.send({ type: 'leave', room: ROOM });
		// The burst is spent but not exceeded; after a refill the connection works as before.
		await new Promise((r) => setTimeout(r, 400));
		atBound.send({ type: 'join', room: ROOM });
		expect(await atBound.next('joined')).toMatchObject({ room: ROOM });

		const past = await rawClient(s.url);
		for (let i = 0; i < 11; i++) past.send({ type: 'leave', room: ROOM });
		expect(await past.closed).toEqual({ code: CLOSE_CODES.tooFast, reason: 'at most 5 frames per second' });
		expect(atBound.ws.readyState).toBe(WebSocket.OPEN);
	});

	it('frames per second: the device’s own client keeps under the default, so a burst of signals costs it no socket', async () => {
		const s = await server();
		const [from, to] = [0, 1].map(() => new SignalingClient(signalingUrlFor(s.url), (url) => new WebSocket(url) as unknown as WebSocketLike));
		const received: unknown[] = [];
		let resets = 0;
		from!.on('reset', () => resets++);
		to!.on('signal', ({ data }) => received.push(data));
		try {
			to!.join(ROOM);
			await until(() => to!.status === 'online', 'the first client online');
			const peer = new Promise<string>((resolve) => from!.on('joined', ({ peers }) => resolve(peers[0]!)));
			from!.join(ROOM);
			// Twice the server's burst, as when a device opens a dozen channels at once.
			const count = 2 * DEFAULT_LIMITS.frameBurst;
			const target = await peer;
			for (let i = 0; i < count; i++) from!.signal(ROOM, target, { type: 'candidate', candidate: { candidate: `candidate ${i}` } });
			await until(() => received.length >= count, 'every signal at the other client');
			expect(resets).toBe(0);
			expect(s.metrics()).not.toContain('reason="too-fast"');
		} finally {
			from!.close();
			to!.close();
		}
	});

	it('connections per address', async () => {
		const s = await withLimits({ maxConnectionsPerIp: 3 });
		const clients = [await rawClient(s.url), await rawClient(s.url), await rawClient(s.url)];
		expect(clients.every((c) => c.self.length === 16)).toBe(true);
		const fourth = await rawClient(s.url);
		expect(await fourth.closed).toEqual({ code: CLOSE_CODES.tooManyConnections, reason: 'at most 3 connections per address' });
		clients[0]!.ws.close();
		await clients[0]!.closed;
		const again = await rawClient(s.url);
		expect(again.self.length).toBe(16);
	});

	it('connections per address behind a trusted proxy count the forwarded address', async () => {
		const s = await server({ limits: { maxConnectionsPerIp: 1 }, trustProxy: true });
		const via = (address: string) => rawClient(s.url, { headers: { 'x-forwarded-for': `203.0.113.9, ${address}` } });
		const first = await via('198.51.100.1');
		const other = await via('198.51.100.2');
		expect([first.self.length, other.self.length]).toEqual([16, 16]);
		const again = await via('198.51.100.1');
		expect((await again.closed).code).toBe(CLOSE_CODES.tooManyConnections);
		const untrusted = await server({ limits: { maxConnectionsPerIp: 1 } });
		await rawClient(untrusted.url, { headers: { 'x-forwarded-for': '198.51.100.3' } });
		const spoofed = await rawClient(untrusted.url, { headers: { 'x-forwarded-for': '198.51.100.4' } });
		expect((await spoofed.closed).code).toBe(CLOSE_CODES.tooManyConnections);
	});

	it('idle connections: one that answers pings stays, one that does not is dropped', async () => {
		const s = await withLimits({ idleTimeoutMs: 200 });
		const lively = await rawClient(s.url);
		const silent = await rawClient(s.url, { autoPong: false });
		const dropped = await silent.closed;
		expect(dropped.code).toBe(1006); // terminated: a dead peer cannot take part in a closing handshake
		expect(lively.ws.readyState).toBe(WebSocket.OPEN);
		expect(s.metrics()).toMatch(/samen_frames_rejected_total\{reason="idle"\} 1/);
	});

	it('limits come from the environment, and bad values stop the server with a clear message', () => {
		const config = configFromEnv({ PORT: '9000', FRAMES_PER_SECOND: '7', ALLOWED_ORIGINS: 'https://a.example, https://b.example/' });
		expect(config.port).toBe(9000);
		expect(config.limits).toEqual({ ...DEFAULT_LIMITS, framesPerSecond: 7 });
		expect(configFromEnv({ MAILBOX_DAYS: '2' }).mailbox).toEqual({
			maxRoomBytes: 1024 * 1024,
			maxRoomItems: 1024,
			maxTotalBytes: 256 * 1024 * 1024,
			ttlMs: 2 * 86_400_000
		});
		expect(configFromEnv({ MAILBOX_TOTAL_BYTES: '1000000', MAILBOX_ROOM_ITEMS: '10', MAILBOX_ROOM_BYTES: '5000' }).mailbox).toEqual({
			...DEFAULT_MAILBOX_LIMITS,
			maxTotalBytes: 1_000_000,
			maxRoomItems: 10,
			maxRoomBytes: 5000
		});
		expect(() => configFromEnv({ MAILBOX_TOTAL_BYTES: '256MiB' })).toThrow(
			new ConfigError('MAILBOX_TOTAL_BYTES must be a positive whole number, not "256MiB"')
		);
		expect(() => configFromEnv({ MAILBOX_ROOM_ITEMS: '0' })).toThrow(new ConfigError('MAILBOX_ROOM_ITEMS must be a positive whole number, not "0"'));
		expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
		expect(() => configFromEnv({ MAX_FRAME_BYTES: '-1' })).toThrow(new ConfigError('MAX_FRAME_BYTES must be a positive whole number, not "-1"'));
		expect(() => configFromEnv({ ICE_SERVERS: '[{"url":1}]' })).toThrow(ConfigError);
		expect(() => configFromEnv({ TLS_CERT_FILE: '/x' })).toThrow(/go together/);
		expect(config.iceTransportPolicy).toBe('all');
		const turn = '[{"urls":"turn:turn.example.org:3478","username":"u","credential":"p"}]';
		expect(configFromEnv({ ICE_TRANSPORT_POLICY: 'relay', ICE_SERVERS: turn }).iceTransportPolicy).toBe('relay');
		expect(() => configFromEnv({ ICE_TRANSPORT_POLICY: 'relay', ICE_SERVERS: '[{"urls":"stun:stun.example.org"}]' })).toThrow(
			new ConfigError('ICE_TRANSPORT_POLICY=relay needs a TURN server in ICE_SERVERS')
		);
		expect(() => configFromEnv({ ICE_TRANSPORT_POLICY: 'only-relay', ICE_SERVERS: turn })).toThrow(new ConfigError('ICE_TRANSPORT_POLICY must be "all" or "relay"'));
	});
});

describe('signaling server: fuzzing', () => {
	function seeded(seed: number) {
		let state = seed >>> 0;
		return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
	}

	function fuzzFrame(random: () => number, peers: string[]): string | Buffer {
		const valid = [
			{ type: 'join', room: ROOM },
			{ type: 'leave', room: ROOM },
			{ type: 'signal', room: ROOM, to: peers[Math.floor(random() * peers.length)] ?? '0'.repeat(16), data: { sdp: 'v=0' } },
			{ type: 'join', room: BOX.room, key: BOX.key },
			{ type: 'deposit', room: BOX.room, id: 'item-0001', data: 'A'.repeat(60), sig: 'A'.repeat(86) },
			{ type: 'take', room: BOX.room, ids: ['item-0001'], sig: 'A'.repeat(86) }
		];
		const base = JSON.stringify(valid[Math.floor(random() * valid.length)]);
		switch (Math.floor(random() * 8)) {
			case 0:
				return Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
			case 1:
				return base.slice(0, Math.floor(random() * base.length));
			case 2: {
				const chars = base.split('');
				for (let i = 0; i < 3; i++) chars[Math.floor(random() * chars.length)] = String.fromCharCode(Math.floor(random() * 0x3000));
				return chars.join('');
			}
			case 3:
				return '['.repeat(20_000 + Math.floor(random() * 10_000));
			case 4:
				return JSON.stringify({ type: 'signal', room: ROOM, to: peers[0] ?? 'x', data: 'x'.repeat(Math.floor(random() * 100_000)) });
			case 5:
				return JSON.stringify({ type: ['join'], room: { length: 32 }, to: null, data: [1, 2, 3], __proto__: { polluted: true } });
			case 6:
				return String(random());
			default:
				return base;
		}
	}

	it('survives thousands of random and mutated frames and still serves well-formed clients', async () => {
		const s = await withLimits({ framesPerSecond: 1000, frameBurst: 1000, maxConnectionsPerIp: 1000 });
		const random = seeded(20261125);
		const witnessA = await rawClient(s.url);
		const witnessB = await rawClient(s.url);
		witnessA.send({ type: 'join', room: 'w'.repeat(32) });
		await witnessA.next('joined');
		witnessB.send({ type: 'join', room: 'w'.repeat(32) });
		await witnessB.next('joined');

		let sent = 0;
		const fuzzers = await Promise.all(Array.from({ length: 8 }, () => rawClient(s.url)));
		const peers = fuzzers.map((f) => f.self);
		while (sent < 4000) {
			for (let i = 0; i < fuzzers.length; i++) {
				if (fuzzers[i]!.ws.readyState !== WebSocket.OPEN) fuzzers[i] = await rawClient(s.url);
				fuzzers[i]!.ws.send(fuzzFrame(random, peers));
				sent++;
			}
			if (sent % 400 === 0) {
				// Meanwhile a well-formed pair keeps talking.
				witnessA.send({ type: 'signal', room: 'w'.repeat(32), to: witnessB.self, data: { n: sent } });
				expect(await witnessB.next('signal')).toMatchObject({ data: { n: sent } });
			}
		}
		const rejected = [...s.rooms.rejected.values()].reduce((a, b) => a + b, 0);
		expect(rejected).toBeGreaterThan(1000);
		const fresh = await rawClient(s.url);
		fresh.send({ type: 'join', room: 'w'.repeat(32) });
		expect(await fresh.next('joined')).toMatchObject({ peers: [witnessA.self, witnessB.self] });
		expect(witnessA.ws.readyState).toBe(WebSocket.OPEN);
	});
});

describe('signaling server: TLS', () => {
	it('serves HTTPS and WSS with a certificate', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'samen-tls-'));
		execFileSync('openssl', [
			'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
			'-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
			'-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')
		], { stdio: 'ignore' });
		const config = configFromEnv({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') });
		const s = await server({ tls: config.tls });
		expect(s.url).toMatch(/^https:/);
		const ca = readFileSync(join(dir, 'cert.pem'));
		const body = await new Promise<string>((resolve, reject) =>
			httpsGet(`${s.url}/healthz`, { ca }, (response) => {
				let text = '';
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve(text));
			}).on('error', reject)
		);
		expect(body).toBe('ok');
		const secure = await rawClient(s.url, { ca });
		expect(secure.ws.url).toMatch(/^wss:/);
		secure.send({ type: 'join', room: ROOM });
		expect(await secure.next('joined')).toMatchObject({ room: ROOM });
		secure.ws.close();
	});
});

describe('signaling server: blind mailbox', () => {
	/** An item of `chars` base64url characters (60 decode to 45 bytes: more than a sealed empty value). */
	const item = (id: string, chars = 60): MailboxItem => ({ id, data: 'A'.repeat(chars) });
	const metric = (s: SignalingServer, line: string) => expect(s.metrics().split('\n')).toContain(line);

	/** Frames of one connection are handled in order: once this join is answered, everything sent before it is done. */
	async function settled(client: Awaited<ReturnType<typeof rawClient>>, room = 'settle'.padEnd(32, 's')) {
		client.send({ type: 'join', room });
		await client.next('joined');
		client.send({ type: 'leave', room });
	}

	it('hands deposited frames to the next device of the room, which takes them', async () => {
		const s = await server();
		const writer = await member(s);
		deposit(writer, BOX, item('item-0001'));
		deposit(writer, BOX, item('item-0002'));
		writer.ws.close();
		await writer.closed;

		const reader = await rawClient(s.url);
		joinWithKey(reader, BOX);
		await reader.next('joined');
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0001'), item('item-0002')] });
		metric(s, `samen_mailbox_bytes ${2 * mailboxItemCost(item('item-0001'))}`);
		metric(s, 'samen_mailbox_items 2');
		take(reader, BOX, ['item-0001', 'item-0002']);
		reader.send({ type: 'leave', room: BOX.room });
		joinWithKey(reader, BOX);
		await reader.next('joined');
		await new Promise((r) => setTimeout(r, 50));
		expect(reader.frames.filter((f) => f.type === 'mailbox')).toHaveLength(1);
		metric(s, 'samen_mailbox_bytes 0');
		metric(s, 'samen_mailbox_items 0');
	});

	it('introduces a mailbox-only member to no one, yet hands it the mailbox and takes its deposits and takes', async () => {
		const s = await server();
		const writer = await member(s);
		deposit(writer, BOX, item('item-0001'));
		const quiet = await rawClient(s.url);
		quiet.send({ type: 'join', room: BOX.room, key: BOX.key, mailboxOnly: true });
		expect(await quiet.next('joined')).toEqual({ type: 'joined', room: BOX.room, peers: [] });
		expect(await quiet.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0001')] });
		await quiet.next('mailbox-end');
		take(quiet, BOX, ['item-0001']);
		deposit(quiet, BOX, item('item-0002'));
		expect(await quiet.next('deposited')).toEqual({ type: 'deposited', room: BOX.room, id: 'item-0002' });
		// It cannot signal anyone there: as far as the room goes, it is not in it.
		quiet.send({ type: 'signal', room: BOX.room, to: writer.self, data: { type: 'offer', sdp: 'x' } });
		expect(await quiet.next('error')).toMatchObject({ code: 'not-in-room' });
		// A member that comes later is not told of it either, and its leaving tells no one.
		const later = await rawClient(s.url);
		joinWithKey(later, BOX);
		expect(await later.next('joined')).toEqual({ type: 'joined', room: BOX.room, peers: [writer.self] });
		expect(await later.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0002')] });
		quiet.send({ type: 'leave', room: BOX.room });
		quiet.ws.close();
		await quiet.closed;
		await new Promise((r) => setTimeout(r, 50));
		for (const client of [writer, later]) {
			expect(client.frames.filter((f) => 'peer' in f && f.peer === quiet.self)).toEqual([]);
			expect(client.frames.filter((f) => f.type === 'signal')).toEqual([]);
		}
	});

	it('closes a socket that asks for a mailbox-only join without the room key, or with a bad flag', async () => {
		const s = await server();
		for (const frame of [
			{ type: 'join', room: BOX.room, mailboxOnly: true },
			{ type: 'join', room: BOX.room, key: BOX.key, mailboxOnly: 'yes' },
			{ type: 'join', room: BOX.room, key: BOX.key, mailboxOnly: false }
		]) {
			const client = await rawClient(s.url);
			client.ws.send(JSON.stringify(frame));
			expect((await client.closed).code).toBe(CLOSE_CODES.malformed);
		}
	});

	it('takes deposits only from members of the room', async () => {
		const s = await server();
		const outsider = await rawClient(s.url);
		deposit(outsider, BOX, item('item-0001'));
		expect(await outsider.next('error')).toMatchObject({ code: 'not-in-room' });
		const reader = await rawClient(s.url);
		joinWithKey(reader, BOX);
		await reader.next('joined');
		await new Promise((r) => setTimeout(r, 50));
		expect(reader.frames.filter((f) => f.type === 'mailbox')).toEqual([]);
	});

	it('bounds each room’s bytes, counting ids and the overhead: at the bound it stores, past it it refuses and keeps what it had', async () => {
		const maxRoomBytes = mailboxItemCost(item('item-0001', 100)) + mailboxItemCost(item('item-0002', 60));
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes, ttlMs: 1000 }) });
		const writer = await member(s);
		deposit(writer, BOX, item('item-0001', 100));
		deposit(writer, BOX, item('item-0002', 60));
		deposit(writer, BOX, item('item-0003', 54));
		expect(await writer.next('error')).toEqual({ type: 'error', code: 'mailbox-full', message: 'this room’s mailbox is full', id: 'item-0003' });
		// Each stored deposit is acknowledged, so the device knows what it may forget.
		expect(writer.frames.filter((f) => f.type === 'deposited')).toEqual([
			{ type: 'deposited', room: BOX.room, id: 'item-0001' },
			{ type: 'deposited', room: BOX.room, id: 'item-0002' }
		]);
		// A refused deposit leaves the socket open.
		await settled(writer);
		const reader = await member(s);
		expect(await reader.next('mailbox')).toMatchObject({ items: [{ id: 'item-0001' }, { id: 'item-0002' }] });
		metric(s, 'samen_frames_rejected_total{reason="mailbox-room-bytes"} 1');
		metric(s, `samen_mailbox_bytes ${maxRoomBytes}`);
	});

	it('bounds each room’s items, however small: at the bound it stores, past it it refuses', async () => {
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomItems: 3 }) });
		const writer = await member(s, BOX, BOX_B);
		for (const id of ['item-0001', 'item-0002', 'item-0003']) deposit(writer, BOX, item(id, 54));
		deposit(writer, BOX, item('item-0004', 54));
		expect(await writer.next('error')).toEqual({
			type: 'error',
			code: 'mailbox-full',
			message: 'this room’s mailbox holds as many items as it may',
			id: 'item-0004'
		});
		deposit(writer, BOX, item('item-0003', 60));
		deposit(writer, BOX_B, item('item-0004', 54));
		await settled(writer);
		expect(writer.frames.filter((f) => f.type === 'error')).toHaveLength(1);
		metric(s, 'samen_frames_rejected_total{reason="mailbox-room-items"} 1');
		metric(s, 'samen_mailbox_items 4');
		const reader = await member(s);
		expect(await reader.next('mailbox')).toEqual({
			type: 'mailbox',
			room: BOX.room,
			items: [item('item-0001', 54), item('item-0002', 54), item('item-0003', 60)]
		});
	});

	it('bounds all rooms together: at the total it stores, past it it refuses in any room', async () => {
		const maxTotalBytes = 2 * mailboxItemCost(item('item-0001'));
		const s = await server({ mailbox: new MemoryMailbox({ maxTotalBytes }) });
		const writer = await member(s, BOX, BOX_B, BOX_C);
		deposit(writer, BOX, item('item-0001'));
		deposit(writer, BOX_B, item('item-0001'));
		deposit(writer, BOX_C, item('item-0001', 54));
		expect(await writer.next('error')).toEqual({ type: 'error', code: 'mailbox-full', message: 'the server’s mailboxes are full', id: 'item-0001' });
		deposit(writer, BOX, item('item-0001', 62));
		expect(await writer.next('error')).toMatchObject({ code: 'mailbox-full', message: 'the server’s mailboxes are full' });
		metric(s, 'samen_frames_rejected_total{reason="mailbox-total"} 2');
		metric(s, `samen_mailbox_bytes ${maxTotalBytes}`);
		// Taking frees the total for every room.
		take(writer, BOX_B, ['item-0001']);
		deposit(writer, BOX_C, item('item-0001'));
		await settled(writer);
		expect(writer.frames.filter((f) => f.type === 'error')).toHaveLength(2);
		metric(s, `samen_mailbox_bytes ${maxTotalBytes}`);
		expect(writer.ws.readyState).toBe(WebSocket.OPEN);
	});

	it('refuses as malformed a deposit smaller than a sealed empty value, or larger than the largest item', async () => {
		const s = await server();
		// 54 base64url characters decode to 40 bytes, 52 to 39; 53 or 57 characters are no base64url text at all.
		expect(MIN_MAILBOX_ITEM_BYTES).toBe(40);
		const writer = await member(s);
		deposit(writer, BOX, item('item-0001', 54));
		deposit(writer, BOX, item('item-0002', Math.ceil((MAX_MAILBOX_ITEM_BYTES * 4) / 3)));
		await settled(writer);
		expect(writer.frames.filter((f) => f.type === 'error')).toEqual([]);
		metric(s, 'samen_mailbox_items 2');
		for (const [chars, reason] of [
			[52, 'a mailbox item is at least 40 sealed bytes'],
			[53, 'bad mailbox item'],
			[57, 'bad mailbox item'],
			[Math.ceil((MAX_MAILBOX_ITEM_BYTES * 4) / 3) + 1, 'bad mailbox item']
		] as const) {
			const small = await member(s);
			deposit(small, BOX, item('item-0003', chars));
			expect(await small.closed, `${chars} characters`).toEqual({ code: CLOSE_CODES.malformed, reason });
		}
		metric(s, 'samen_frames_rejected_total{reason="malformed"} 4');
		metric(s, 'samen_mailbox_items 2');
	});

	it('hands 3,200 of the smallest items with the longest ids to a client in pages it parses, and takes them all', async () => {
		const count = 3200;
		const s = await server({
			mailbox: new MemoryMailbox({ maxRoomItems: count, maxRoomBytes: 1 << 24 }),
			limits: { framesPerSecond: 100_000, frameBurst: 100_000 }
		});
		const id = (n: number) => `${n}`.padStart(64, 'i');
		const writer = await member(s);
		for (let n = 0; n < count; n++) deposit(writer, BOX, item(id(n), 54));
		await settled(writer);
		metric(s, `samen_mailbox_items ${count}`);

		// The device's own client, over a socket that also records the size of every frame it receives.
		const frameSizes: number[] = [];
		const client = new SignalingClient(signalingUrlFor(s.url), (url) => {
			const ws = new WebSocket(url);
			ws.on('message', (data: Buffer) => frameSizes.push(data.length));
			return ws as unknown as WebSocketLike;
		});
		const received: MailboxItem[] = [];
		client.on('mailbox', ({ items }) => received.push(...items));
		client.join(BOX.room, BOX.auth);
		try {
			await until(() => received.length >= count, 'every item at the client');
			expect(received.map((stored) => stored.id)).toEqual(Array.from({ length: count }, (_, n) => id(n)));
			expect(client.rejectedFrames).toBe(0);
			expect(frameSizes.length).toBeGreaterThan(3);
			for (const size of frameSizes) expect(size).toBeLessThanOrEqual(MAILBOX_PAGE_BYTES);

			// One take of every id: in frames the server accepts (at most 1,000 ids, within 64 KiB).
			client.take(BOX.room, received.map((stored) => stored.id));
			await until(() => s.metrics().includes('\nsamen_mailbox_items 0\n'), 'every item taken');
			expect(client.status).toBe('online');
			metric(s, 'samen_mailbox_bytes 0');
		} finally {
			client.close();
		}
		// 3,200 signed deposits and their checks: about 10 s alone, several times that on a busy machine.
	}, 120_000);

	it('cuts mailbox pages at MAILBOX_PAGE_BYTES of JSON exactly, ids and punctuation included', () => {
		const header = JSON.stringify({ type: 'mailbox', room: ROOM, items: [] }).length;
		const largest = item('i'.repeat(64), Math.ceil((MAX_MAILBOX_ITEM_BYTES * 4) / 3));
		const largestBytes = JSON.stringify(largest).length;
		// Two of the largest items and a third that fills the page to the last byte (two commas between them).
		const rest = MAILBOX_PAGE_BYTES - header - 2 * largestBytes - 2 - JSON.stringify(item('i'.repeat(64), 0)).length;
		const fill = (extra: number) => [largest, largest, item('i'.repeat(64), rest + extra)];
		const atBound = mailboxPages(ROOM, fill(0));
		expect(atBound).toHaveLength(1);
		expect(JSON.stringify(atBound[0]).length).toBe(MAILBOX_PAGE_BYTES);
		const past = mailboxPages(ROOM, fill(1));
		expect(past.map((page) => (page.type === 'mailbox' ? page.items.length : 0))).toEqual([2, 1]);
		// The client parses every page, with room to spare.
		expect(MAILBOX_PAGE_BYTES).toBeLessThanOrEqual(MAX_SIGNALING_FRAME_BYTES / 2);
		for (const page of [...atBound, ...past]) expect(parseServerFrame(JSON.stringify(page))).toEqual(page);

		// However many and however small the items.
		const tiny = Array.from({ length: 10_000 }, (_, n) => item(`${n}`.padStart(64, 'i'), 54));
		const pages = mailboxPages(ROOM, tiny);
		for (const page of pages) expect(JSON.stringify(page).length).toBeLessThanOrEqual(MAILBOX_PAGE_BYTES);
		expect(pages.flatMap((page) => (page.type === 'mailbox' ? page.items : []))).toEqual(tiny);
		expect(mailboxPages(ROOM, [])).toEqual([]);
	});

	it('cuts a take into frames the server accepts at its default frame limit', () => {
		const ids = Array.from({ length: 1001 }, (_, n) => `${n}`.padStart(64, 'i'));
		const frames = takeFrames(ROOM, ids);
		expect(frames.map((frame) => (frame.type === 'take' ? frame.ids.length : 0))).toEqual([500, 500, 1]);
		// As the client sends them: signed.
		for (const frame of frames) {
			const signed = frame.type === 'take' ? signMailboxOp(BOX.auth, '0123456789abcdef', { ...frame, room: BOX.room }) : frame;
			expect(JSON.stringify(signed).length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxFrameBytes);
			expect(parseClientFrame(JSON.stringify(signed))).toEqual(signed);
		}
		expect(takeFrames(ROOM, [])).toEqual([]);
		expect(() => parseClientFrame(JSON.stringify({ type: 'take', room: ROOM, ids: ids.slice(0, 1000) }))).not.toThrow();
		expect(() => parseClientFrame(JSON.stringify({ type: 'take', room: ROOM, ids }))).toThrow('bad mailbox ids');
	});

	it('handles a signal, a deposit or a take sent right before a leave as from a member', async () => {
		const s = await server();
		const writer = await rawClient(s.url);
		const reader = await rawClient(s.url);
		joinWithKey(reader, BOX);
		await reader.next('joined');
		joinWithKey(writer, BOX);
		await writer.next('joined');
		writer.send({ type: 'signal', room: BOX.room, to: reader.self, data: { n: 1 } });
		deposit(writer, BOX, item('item-0001'));
		writer.send({ type: 'leave', room: BOX.room });
		expect(await reader.next('signal')).toEqual({ type: 'signal', room: BOX.room, from: writer.self, data: { n: 1 } });
		await reader.next('peer-left');

		reader.send({ type: 'leave', room: BOX.room });
		joinWithKey(reader, BOX);
		await reader.next('joined');
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0001')] });
		take(reader, BOX, ['item-0001']);
		reader.send({ type: 'leave', room: BOX.room });
		// Frames of one connection are handled in order: once this join is answered, the take is done.
		joinWithKey(reader, BOX);
		await reader.next('joined');
		metric(s, 'samen_mailbox_bytes 0');
		expect([...writer.frames, ...reader.frames].filter((f) => f.type === 'error')).toEqual([]);
	});

	it('stops counting expired frames in /metrics, also in a room nobody opens again', async () => {
		let now = Date.UTC(2026, 0, 1);
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes: 1 << 20, ttlMs: 1000 }, () => now) });
		const writer = await rawClient(s.url);
		joinWithKey(writer, BOX);
		await writer.next('joined');
		deposit(writer, BOX, item('item-old1', 60));
		writer.send({ type: 'leave', room: BOX.room });
		joinWithKey(writer, BOX_B);
		await writer.next('joined');
		metric(s, `samen_mailbox_bytes ${mailboxItemCost(item('item-old1', 60))}`);
		now += 1001;
		deposit(writer, BOX_B, item('item-new1', 70));
		joinWithKey(writer, BOX);
		await writer.next('joined');
		metric(s, `samen_mailbox_bytes ${mailboxItemCost(item('item-new1', 70))}`);
		metric(s, 'samen_mailbox_items 1');
	});

	it('forgets frames after thirty days', async () => {
		let now = Date.UTC(2026, 0, 1);
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes: 1 << 20, ttlMs: 30 * 24 * 3600 * 1000 }, () => now) });
		const writer = await rawClient(s.url);
		joinWithKey(writer, BOX);
		await writer.next('joined');
		deposit(writer, BOX, item('item-old1'));
		await new Promise((r) => setTimeout(r, 30));
		now += 29 * 24 * 3600 * 1000;
		deposit(writer, BOX, item('item-new1'));
		await new Promise((r) => setTimeout(r, 30));
		now += 2 * 24 * 3600 * 1000;
		const reader = await rawClient(s.url);
		joinWithKey(reader, BOX);
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-new1')] });
	});
});

describe('signaling server: the room is a capability', () => {
	const item = (id: string, data = 'A'.repeat(60)): MailboxItem => ({ id, data });
	const metric = (s: SignalingServer, line: string) => expect(s.metrics().split('\n')).toContain(line);
	const errors = (client: RawClient) => client.frames.filter((frame) => frame.type === 'error');

	/** Once this join is answered, every frame `client` sent before it has been handled. */
	async function settled(client: RawClient) {
		const room = 'settle'.padEnd(32, 's');
		client.send({ type: 'join', room });
		await client.next('joined');
		client.send({ type: 'leave', room });
	}

	/** What a device of the room is handed when it joins now. */
	async function waiting(s: SignalingServer, room: KeyedRoom): Promise<MailboxItem[]> {
		const probe = await rawClient(s.url);
		joinWithKey(probe, room);
		await probe.next('joined');
		await settled(probe);
		probe.ws.close();
		return probe.frames.flatMap((frame) => (frame.type === 'mailbox' ? frame.items : []));
	}

	it('a socket that knows only the room id cannot take, overwrite or fill the mailbox; a device with the key can', async () => {
		const s = await server();
		const device = await rawClient(s.url);
		joinWithKey(device, BOX);
		await device.next('joined');
		deposit(device, BOX, item('item-0001'));
		expect(await device.next('deposited')).toEqual({ type: 'deposited', room: BOX.room, id: 'item-0001' });

		// Joining with the room id alone is allowed: it signals and sees the sealed items, nothing more.
		const stranger = await rawClient(s.url);
		stranger.send({ type: 'join', room: BOX.room });
		await stranger.next('joined');
		expect(await stranger.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0001')] });
		stranger.send({ type: 'take', room: BOX.room, ids: ['item-0001'] });
		stranger.send({ type: 'deposit', room: BOX.room, ...item('item-0001', 'B'.repeat(60)) });
		stranger.send({ type: 'deposit', room: BOX.room, ...item('item-0002') });
		// A signature is no use without the key given at join, even the device's own.
		stranger.send(signMailboxOp(BOX.auth, stranger.self, { type: 'take', room: BOX.room, ids: ['item-0001'] }));
		await settled(stranger);
		expect(errors(stranger)).toEqual([
			{ type: 'error', code: 'forbidden', message: 'join the room with its key to use its mailbox' },
			{ type: 'error', code: 'forbidden', message: 'join the room with its key to use its mailbox', id: 'item-0001' },
			{ type: 'error', code: 'forbidden', message: 'join the room with its key to use its mailbox', id: 'item-0002' },
			{ type: 'error', code: 'forbidden', message: 'join the room with its key to use its mailbox' }
		]);
		// Refused, not closed.
		expect(stranger.ws.readyState).toBe(WebSocket.OPEN);
		metric(s, 'samen_frames_rejected_total{reason="forbidden"} 4');
		expect(await waiting(s, BOX)).toEqual([item('item-0001')]);

		// The device with the key overwrites and takes.
		deposit(device, BOX, item('item-0001', 'C'.repeat(60)));
		await device.next('deposited');
		expect(await waiting(s, BOX)).toEqual([item('item-0001', 'C'.repeat(60))]);
		take(device, BOX, ['item-0001']);
		await settled(device);
		expect(await waiting(s, BOX)).toEqual([]);
		expect(errors(device)).toEqual([]);
		metric(s, 'samen_mailbox_items 0');
		metric(s, 'samen_frames_rejected_total{reason="forbidden"} 4');
	});

	it('closes a socket that joins with a key that is not the room’s', async () => {
		const s = await server();
		const wrong = await rawClient(s.url);
		wrong.send({ type: 'join', room: BOX.room, key: BOX_B.key });
		expect(await wrong.closed).toEqual({ code: CLOSE_CODES.malformed, reason: 'the key does not match the room' });
		metric(s, 'samen_frames_rejected_total{reason="forbidden"} 1');
		// Nor did it become a member on the way.
		const device = await rawClient(s.url);
		joinWithKey(device, BOX);
		expect(await device.next('joined')).toEqual({ type: 'joined', room: BOX.room, peers: [] });
	});

	it('refuses a signature replayed from another socket, or made over another room, operation, id or data', async () => {
		const s = await server();
		const device = await member(s);
		deposit(device, BOX, item('item-0001'));
		await device.next('deposited');
		// The room's public key is no secret (every join carries it): a thief joins with it.
		const thief = await member(s, BOX, BOX_B);
		const mine = <T extends Parameters<typeof signMailboxOp>[2]>(op: T) => signMailboxOp(BOX.auth, thief.self, op);
		const sent = [
			// Frames the device signed for its own socket, replayed.
			signMailboxOp(BOX.auth, device.self, { type: 'take', room: BOX.room, ids: ['item-0001'] }),
			signMailboxOp(BOX.auth, device.self, { type: 'deposit', room: BOX.room, ...item('item-0001', 'B'.repeat(60)) }),
			// Signatures for this socket, but over other data: another item, id, room or operation.
			{ ...mine({ type: 'deposit', room: BOX.room, ...item('item-0001') }), data: 'B'.repeat(60) },
			{ ...mine({ type: 'deposit', room: BOX.room, ...item('item-0002') }), id: 'item-0001' },
			{ ...mine({ type: 'take', room: BOX.room, ids: ['item-0002'] }), ids: ['item-0001'] },
			{ ...mine({ type: 'take', room: BOX.room, ids: ['item-0001'] }), ids: ['item-0001', 'item-0002'] },
			{ ...signMailboxOp(BOX_B.auth, thief.self, { type: 'take', room: BOX_B.room, ids: ['item-0001'] }), room: BOX.room },
			{ ...signMailboxOp(BOX_B.auth, thief.self, { type: 'take', room: BOX.room, ids: ['item-0001'] }) },
			{ type: 'take', room: BOX.room, ids: ['item-0001'], sig: mine({ type: 'deposit', room: BOX.room, ...item('item-0001') }).sig },
			// Not a signature at all, though well-formed.
			{ type: 'take', room: BOX.room, ids: ['item-0001'], sig: 'A'.repeat(86) }
		];
		for (const frame of sent) thief.send(frame);
		await settled(thief);
		expect(errors(thief).map((frame) => (frame.type === 'error' ? frame.code : ''))).toEqual(sent.map(() => 'forbidden'));
		expect(errors(thief)[1]).toEqual({
			type: 'error',
			code: 'forbidden',
			message: 'the signature is not the room key’s, for this connection and operation',
			id: 'item-0001'
		});
		metric(s, `samen_frames_rejected_total{reason="forbidden"} ${sent.length}`);
		expect(await waiting(s, BOX)).toEqual([item('item-0001')]);
		expect(thief.ws.readyState).toBe(WebSocket.OPEN);
	});

	it('treats a key or signature of the wrong shape as malformed, and parses the well-formed ones both ways', () => {
		const self = '0123456789abcdef';
		const join = { type: 'join', room: BOX.room, key: BOX.key };
		expect(parseClientFrame(JSON.stringify(join))).toEqual(join);
		const signed = signMailboxOp(BOX.auth, self, { type: 'deposit', room: BOX.room, ...item('item-0001') });
		expect(parseClientFrame(JSON.stringify(signed))).toEqual(signed);
		for (const key of [BOX.key.slice(1), BOX.key + 'A', 42, '', null]) {
			expect(() => parseClientFrame(JSON.stringify({ ...join, key })), String(key)).toThrow('bad room key');
		}
		for (const sig of [signed.sig!.slice(1), signed.sig + 'A', 'A'.repeat(85) + '=', 7, null]) {
			expect(() => parseClientFrame(JSON.stringify({ ...signed, sig })), String(sig)).toThrow('bad signature');
			expect(() => parseClientFrame(JSON.stringify({ type: 'take', room: BOX.room, ids: [], sig })), String(sig)).toThrow('bad signature');
		}
		const refused = { type: 'error', code: 'forbidden', message: 'no', id: 'item-0001' };
		expect(parseServerFrame(JSON.stringify(refused))).toEqual(refused);
	});

	it('a device’s SignalingClient signs its deposits and takes; without the room key it sends neither', async () => {
		const s = await server();
		const device = new SignalingClient(signalingUrlFor(s.url), (url) => new WebSocket(url) as unknown as WebSocketLike);
		const keyless = new SignalingClient(signalingUrlFor(s.url), (url) => new WebSocket(url) as unknown as WebSocketLike);
		try {
			device.join(BOX.room, BOX.auth);
			keyless.join(BOX.room);
			await until(() => device.status === 'online' && keyless.status === 'online', 'both online');
			expect(await device.deposit(BOX.room, item('item-0001'))).toBe(true);
			expect(await keyless.deposit(BOX.room, item('item-0002'))).toBe(false);
			keyless.take(BOX.room, ['item-0001']);
			expect(await waiting(s, BOX)).toEqual([item('item-0001')]);
			device.take(BOX.room, ['item-0001']);
			await until(() => s.metrics().includes('\nsamen_mailbox_items 0\n'), 'the item taken');
			// Neither sent anything the server refused.
			expect(s.metrics()).not.toMatch(/reason="forbidden"/);
		} finally {
			device.close();
			keyless.close();
		}
	});
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

describe('signaling frames, written and read', () => {
	it('write/read pairs round-trip, and each side refuses to write what the other would not read', async () => {
		const { writeClientFrame, writeServerFrame, parseClientFrame, parseServerFrame, MAX_CLIENT_FRAME_BYTES, MAX_SIGNALING_FRAME_BYTES, SignalingFrameError } = await import(
			'../../src/lib/transport/signaling-protocol'
		);
		const join = { type: 'join' as const, room: ROOM };
		expect(parseClientFrame(writeClientFrame(join))).toEqual(join);
		const joined = { type: 'joined' as const, room: ROOM, peers: ['0123456789abcdef'] };
		expect(parseServerFrame(writeServerFrame(joined))).toEqual(joined);
		const bigSignal = { type: 'signal' as const, room: ROOM, to: '0123456789abcdef', data: { sdp: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) } };
		expect(() => writeClientFrame(bigSignal)).toThrow(SignalingFrameError);
		const bigPage = { type: 'mailbox' as const, room: ROOM, items: [{ id: 'item-0001', data: 'A'.repeat(MAX_SIGNALING_FRAME_BYTES) }] };
		expect(() => writeServerFrame(bigPage)).toThrow(SignalingFrameError);
	});
});
