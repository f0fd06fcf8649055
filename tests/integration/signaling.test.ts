import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, configFromEnv, DEFAULT_LIMITS, type Limits } from '../../signaling/config';
import { jsonLogger, silentLogger } from '../../signaling/log';
import { MemoryMailbox } from '../../signaling/mailbox';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../signaling/server';
import { CLOSE_CODES } from '../../src/lib/transport/signaling-protocol';
import { rawClient } from '../helpers/signaling-client';

const ROOM = 'a'.repeat(32);
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
		expect(configFromEnv({ MAILBOX_DAYS: '2' }).mailbox).toEqual({ maxRoomBytes: 1024 * 1024, ttlMs: 2 * 86_400_000 });
		expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
		expect(() => configFromEnv({ MAX_FRAME_BYTES: '-1' })).toThrow(new ConfigError('MAX_FRAME_BYTES must be a positive whole number, not "-1"'));
		expect(() => configFromEnv({ ICE_SERVERS: '[{"url":1}]' })).toThrow(ConfigError);
		expect(() => configFromEnv({ TLS_CERT_FILE: '/x' })).toThrow(/go together/);
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
			{ type: 'signal', room: ROOM, to: peers[Math.floor(random() * peers.length)] ?? '0'.repeat(16), data: { sdp: 'v=0' } }
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
	const item = (id: string, bytes = 30) => ({ id, data: 'A'.repeat(bytes) });

	it('hands deposited frames to the next device of the room, which takes them', async () => {
		const s = await server();
		const writer = await rawClient(s.url);
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0001') });
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0002') });
		writer.ws.close();
		await writer.closed;

		const reader = await rawClient(s.url);
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: ROOM, items: [item('item-0001'), item('item-0002')] });
		expect(s.metrics()).toMatch(/^samen_mailbox_bytes 60$/m);
		reader.send({ type: 'take', room: ROOM, ids: ['item-0001', 'item-0002'] });
		reader.send({ type: 'leave', room: ROOM });
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		await new Promise((r) => setTimeout(r, 50));
		expect(reader.frames.filter((f) => f.type === 'mailbox')).toHaveLength(1);
		expect(s.metrics()).toMatch(/^samen_mailbox_bytes 0$/m);
	});

	it('takes deposits only from members of the room', async () => {
		const s = await server();
		const outsider = await rawClient(s.url);
		outsider.send({ type: 'deposit', room: ROOM, ...item('item-0001') });
		expect(await outsider.next('error')).toMatchObject({ code: 'not-in-room' });
		const reader = await rawClient(s.url);
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		await new Promise((r) => setTimeout(r, 50));
		expect(reader.frames.filter((f) => f.type === 'mailbox')).toEqual([]);
	});

	it('bounds each room: at the bound it stores, past it it refuses and keeps what it had', async () => {
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes: 100, ttlMs: 1000 }) });
		const writer = await rawClient(s.url);
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0001', 60) });
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0002', 40) });
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0003', 1) });
		expect(await writer.next('error')).toEqual({ type: 'error', code: 'mailbox-full', message: 'this room’s mailbox is full' });
		const reader = await rawClient(s.url);
		reader.send({ type: 'join', room: ROOM });
		expect(await reader.next('mailbox')).toMatchObject({ items: [{ id: 'item-0001' }, { id: 'item-0002' }] });
	});

	it('handles a signal, a deposit or a take sent right before a leave as from a member', async () => {
		const s = await server();
		const writer = await rawClient(s.url);
		const reader = await rawClient(s.url);
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		writer.send({ type: 'signal', room: ROOM, to: reader.self, data: { n: 1 } });
		writer.send({ type: 'deposit', room: ROOM, ...item('item-0001') });
		writer.send({ type: 'leave', room: ROOM });
		expect(await reader.next('signal')).toEqual({ type: 'signal', room: ROOM, from: writer.self, data: { n: 1 } });
		await reader.next('peer-left');

		reader.send({ type: 'leave', room: ROOM });
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: ROOM, items: [item('item-0001')] });
		reader.send({ type: 'take', room: ROOM, ids: ['item-0001'] });
		reader.send({ type: 'leave', room: ROOM });
		// Frames of one connection are handled in order: once this join is answered, the take is done.
		reader.send({ type: 'join', room: ROOM });
		await reader.next('joined');
		expect(s.metrics()).toMatch(/^samen_mailbox_bytes 0$/m);
		expect([...writer.frames, ...reader.frames].filter((f) => f.type === 'error')).toEqual([]);
	});

	it('stops counting expired frames in /metrics, also in a room nobody opens again', async () => {
		let now = Date.UTC(2026, 0, 1);
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes: 1 << 20, ttlMs: 1000 }, () => now) });
		const writer = await rawClient(s.url);
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		writer.send({ type: 'deposit', room: ROOM, ...item('item-old1', 30) });
		writer.send({ type: 'leave', room: ROOM });
		writer.send({ type: 'join', room: 'b'.repeat(32) });
		await writer.next('joined');
		expect(s.metrics()).toMatch(/^samen_mailbox_bytes 30$/m);
		now += 1001;
		writer.send({ type: 'deposit', room: 'b'.repeat(32), ...item('item-new1', 40) });
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		expect(s.metrics()).toMatch(/^samen_mailbox_bytes 40$/m);
	});

	it('forgets frames after thirty days', async () => {
		let now = Date.UTC(2026, 0, 1);
		const s = await server({ mailbox: new MemoryMailbox({ maxRoomBytes: 1 << 20, ttlMs: 30 * 24 * 3600 * 1000 }, () => now) });
		const writer = await rawClient(s.url);
		writer.send({ type: 'join', room: ROOM });
		await writer.next('joined');
		writer.send({ type: 'deposit', room: ROOM, ...item('item-old1') });
		await new Promise((r) => setTimeout(r, 30));
		now += 29 * 24 * 3600 * 1000;
		writer.send({ type: 'deposit', room: ROOM, ...item('item-new1') });
		await new Promise((r) => setTimeout(r, 30));
		now += 2 * 24 * 3600 * 1000;
		const reader = await rawClient(s.url);
		reader.send({ type: 'join', room: ROOM });
		expect(await reader.next('mailbox')).toEqual({ type: 'mailbox', room: ROOM, items: [item('item-new1')] });
	});
});
