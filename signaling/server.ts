/**
 * One process for everything a device needs from a server: the built app over HTTP(S) and the
 * signaling WebSocket at /signal. The server forwards WebRTC signals between peers of opaque rooms;
 * it never sees an account, a device name or a message. A room's mailbox answers only to signatures
 * by the room's key, whose hash the room id is (./rooms.ts). Every limit is per connection or per
 * address, so one abusive client is closed without slowing the others.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE_CODES, SIGNALING_PATH, writeServerFrame, type ServerFrame } from '../src/lib/transport/signaling-protocol';
import { DEFAULT_LIMITS, type Limits, type ServerConfig } from './config';
import { MemoryDirectory, type Directory } from './directory';
import { MemoryMailbox, type MailboxStore } from './mailbox';
import { jsonLogger, type Logger } from './log';
import { Rooms, type Connection, type RejectReason, type Verdict } from './rooms';
import { staticFiles } from './static-files';

export interface SignalingServerOptions extends Partial<Omit<ServerConfig, 'limits' | 'mailbox'>> {
	limits?: Partial<Limits>;
	/** Folder of the built app; without it only /signal, /healthz and /metrics are served. */
	staticDir?: string;
	log?: Logger;
	/** Where room membership lives: this process's memory unless given (Redis, for several processes). */
	directory?: Directory;
	/** Where deposited frames wait: this process's memory (with default limits) unless given (Redis). */
	mailbox?: MailboxStore;
}

export interface SignalingServer {
	readonly rooms: Rooms;
	readonly url: string;
	readonly port: number;
	readonly connectionCount: number;
	metrics(): string;
	/** Tells every client to reconnect elsewhere (1012), then stops. */
	close(): Promise<void>;
}

interface ClientState {
	connection: Connection;
	address: string;
	tokens: number;
	refilledAt: number;
	alive: boolean;
}

export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
	const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
	const log = options.log ?? jsonLogger();
	const iceServers = options.iceServers ?? [];
	const iceTransportPolicy = options.iceTransportPolicy ?? 'all';
	const allowedOrigins = options.allowedOrigins ?? 'same-origin';
	const directory = options.directory ?? new MemoryDirectory();
	const mailbox = options.mailbox ?? new MemoryMailbox();
	const rooms = new Rooms(directory, mailbox, limits.maxRoomsPerConnection, (error) =>
		log('directory-error', { message: (error as Error).message })
	);
	const clients = new Map<WebSocket, ClientState>();
	const perAddress = new Map<string, number>();
	const serveFile = options.staticDir ? staticFiles(options.staticDir) : undefined;

	const handle = (request: IncomingMessage, response: ServerResponse) => {
		const path = (request.url ?? '/').split('?')[0];
		if (path === '/healthz') {
			response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
		} else if (path === '/metrics') {
			response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
		} else if (serveFile) {
			void serveFile(request, response);
		} else {
			response.writeHead(404).end();
		}
	};
	const http: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handle) : createHttpServer(handle);
	const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes });

	http.on('upgrade', (request, socket, head) => {
		if (new URL(request.url ?? '/', 'http://x').pathname !== SIGNALING_PATH) {
			socket.destroy();
			return;
		}
		if (!originAllowed(request)) {
			rooms.countRejected('malformed');
			log('origin-refused');
			socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
			return;
		}
		wss.handleUpgrade(request, socket, head, (ws) => accept(ws, clientAddress(request)));
	});

	/** Behind a trusted proxy the socket's address is the proxy's; the proxy appends the client's. */
	function clientAddress(request: IncomingMessage): string {
		const forwarded = options.trustProxy ? String(request.headers['x-forwarded-for'] ?? '').split(',').at(-1)?.trim() : undefined;
		return forwarded || request.socket.remoteAddress || 'unknown';
	}

	function originAllowed(request: IncomingMessage): boolean {
		const origin = request.headers.origin;
		// Browsers always send Origin; its absence means a non-browser client, which no origin rule can stop.
		if (!origin || allowedOrigins === 'any') return true;
		if (allowedOrigins === 'same-origin') {
			try {
				return new URL(origin).host === request.headers.host;
			} catch {
				return false;
			}
		}
		return allowedOrigins.includes(origin);
	}

	function accept(ws: WebSocket, address: string): void {
		const connection: Connection = {
			id: randomBytes(8).toString('hex'),
			rooms: new Map(),
			mailboxOnly: new Set(),
			pending: Promise.resolve(),
			send(frame: ServerFrame) {
				if (ws.readyState === ws.OPEN) ws.send(writeServerFrame(frame));
			}
		};
		rooms.connect(connection);
		const open = (perAddress.get(address) ?? 0) + 1;
		perAddress.set(address, open);
		const state: ClientState = { connection, address, tokens: limits.frameBurst, refilledAt: Date.now(), alive: true };
		clients.set(ws, state);
		ws.on('close', () => {
			clients.delete(ws);
			rooms.disconnect(connection);
			const left = (perAddress.get(address) ?? 1) - 1;
			if (left > 0) perAddress.set(address, left);
			else perAddress.delete(address);
		});
		ws.on('error', () => ws.terminate());
		if (open > limits.maxConnectionsPerIp) {
			refuse(ws, { close: CLOSE_CODES.tooManyConnections, reason: `at most ${limits.maxConnectionsPerIp} connections per address` }, 'too-many-connections');
			return;
		}
		ws.on('pong', () => (state.alive = true));
		ws.on('message', (data, isBinary) => {
			state.alive = true;
			if (!takeToken(state)) {
				refuse(ws, { close: CLOSE_CODES.tooFast, reason: `at most ${limits.framesPerSecond} frames per second` }, 'too-fast');
				return;
			}
			if (isBinary) {
				refuse(ws, { close: CLOSE_CODES.malformed, reason: 'text frames only' }, 'malformed');
				return;
			}
			const verdict = rooms.receive(connection, data.toString());
			if (verdict) closeWith(ws, verdict);
		});
		connection.send({ type: 'welcome', self: connection.id, iceServers, iceTransportPolicy });
	}

	/** Rooms counts what it refuses itself; limits enforced here are counted here. */
	function refuse(ws: WebSocket, verdict: NonNullable<Verdict>, reason: RejectReason): void {
		rooms.countRejected(reason);
		closeWith(ws, verdict);
	}

	function closeWith(ws: WebSocket, verdict: NonNullable<Verdict>): void {
		log('frame-refused', { code: verdict.close, reason: verdict.reason });
		ws.close(verdict.close, verdict.reason);
	}

	function takeToken(state: ClientState): boolean {
		const now = Date.now();
		state.tokens = Math.min(limits.frameBurst, state.tokens + ((now - state.refilledAt) / 1000) * limits.framesPerSecond);
		state.refilledAt = now;
		if (state.tokens < 1) return false;
		state.tokens -= 1;
		return true;
	}

	// A socket that misses a whole round of pings is gone (a phone that lost its network says nothing).
	const heartbeat = setInterval(() => {
		for (const [ws, state] of clients) {
			if (!state.alive) {
				rooms.countRejected('idle');
				ws.terminate();
				continue;
			}
			state.alive = false;
			ws.ping();
		}
	}, limits.idleTimeoutMs / 2);
	heartbeat.unref();

	function metrics(): string {
		const lines = [
			'# HELP samen_connections Open signaling connections.',
			'# TYPE samen_connections gauge',
			`samen_connections ${clients.size}`,
			'# HELP samen_rooms Rooms with at least one connection.',
			'# TYPE samen_rooms gauge',
			`samen_rooms ${rooms.roomCount}`,
			'# HELP samen_frames_forwarded_total Signals forwarded from one peer to another.',
			'# TYPE samen_frames_forwarded_total counter',
			`samen_frames_forwarded_total ${rooms.framesForwarded}`,
			'# HELP samen_frames_rejected_total Frames and connections refused, by reason (mailbox-*: deposits past a mailbox bound; forbidden: a deposit or take not signed by the room key, or a join with a wrong room key).',
			'# TYPE samen_frames_rejected_total counter',
			...[...rooms.rejected].map(([reason, count]) => `samen_frames_rejected_total{reason="${reason}"} ${count}`),
			'# HELP samen_mailbox_bytes Bytes waiting in mailboxes: sealed data, ids and a fixed overhead per item.',
			'# TYPE samen_mailbox_bytes gauge',
			`samen_mailbox_bytes ${rooms.mailboxUsage.bytes}`,
			'# HELP samen_mailbox_items Items waiting in mailboxes.',
			'# TYPE samen_mailbox_items gauge',
			`samen_mailbox_items ${rooms.mailboxUsage.items}`,
			'# HELP process_resident_memory_bytes Resident memory of this server process.',
			'# TYPE process_resident_memory_bytes gauge',
			`process_resident_memory_bytes ${process.memoryUsage.rss()}`
		];
		return lines.join('\n') + '\n';
	}

	await new Promise<void>((resolve, reject) => {
		http.once('error', reject);
		http.listen(options.port ?? 8787, options.host ?? '0.0.0.0', () => resolve());
	});
	const port = (http.address() as AddressInfo).port;
	const scheme = options.tls ? 'https' : 'http';
	log('listening', { port, tls: !!options.tls });
	return {
		rooms,
		port,
		url: `${scheme}://127.0.0.1:${port}`,
		get connectionCount() {
			return clients.size;
		},
		metrics,
		async close() {
			clearInterval(heartbeat);
			log('shutting-down', { connections: clients.size });
			const closed = new Promise<void>((resolve) => http.close(() => resolve()));
			for (const ws of clients.keys()) ws.close(CLOSE_CODES.restarting, 'server restarting');
			await new Promise((resolve) => setTimeout(resolve, clients.size > 0 ? 200 : 0));
			const pending = [...clients.values()].map((state) => state.connection);
			for (const ws of clients.keys()) ws.terminate();
			wss.close();
			http.closeAllConnections?.();
			await closed;
			// Let every connection leave its rooms in the shared directory before it is closed.
			await Promise.all(pending.map((connection) => connection.pending));
			if (!options.directory) await directory.close();
		}
	};
}
