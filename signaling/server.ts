/**
 * One process for everything a device needs from a server: the built app over HTTP and the
 * signaling WebSocket at /signal. The server forwards WebRTC signals between peers of opaque rooms;
 * it never sees an account, a device name or a message.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_SIGNALING_FRAME_BYTES, SIGNALING_PATH, type ServerFrame } from '../src/lib/transport/signaling-protocol';
import { Rooms, type Connection } from './rooms';
import { staticFiles } from './static-files';

export interface SignalingServerOptions {
	port?: number;
	host?: string;
	/** Folder of the built app; without it only /signal and /healthz are served. */
	staticDir?: string;
}

export interface SignalingServer {
	readonly http: Server;
	readonly rooms: Rooms;
	readonly url: string;
	readonly port: number;
	close(): Promise<void>;
}

export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
	const rooms = new Rooms();
	const serveFile = options.staticDir ? staticFiles(options.staticDir) : undefined;
	const http = createServer((request, response) => {
		if (request.url === '/healthz') {
			response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
			return;
		}
		if (serveFile) void serveFile(request, response);
		else response.writeHead(404).end();
	});
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNALING_FRAME_BYTES });
	http.on('upgrade', (request, socket, head) => {
		if (new URL(request.url ?? '/', 'http://x').pathname !== SIGNALING_PATH) {
			socket.destroy();
			return;
		}
		wss.handleUpgrade(request, socket, head, (ws) => accept(ws));
	});

	function accept(ws: WebSocket): void {
		const connection: Connection = {
			id: randomBytes(8).toString('hex'),
			rooms: new Set(),
			send(frame: ServerFrame) {
				if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
			}
		};
		ws.on('message', (data, isBinary) => {
			if (isBinary) {
				rooms.stats.framesRejected++;
				connection.send({ type: 'error', code: 'malformed', message: 'text frames only' });
				return;
			}
			rooms.receive(connection, data.toString());
		});
		ws.on('close', () => rooms.disconnect(connection));
		ws.on('error', () => ws.terminate());
		connection.send({ type: 'welcome', self: connection.id });
	}

	await new Promise<void>((resolve, reject) => {
		http.once('error', reject);
		http.listen(options.port ?? 8787, options.host ?? '0.0.0.0', () => resolve());
	});
	const port = (http.address() as AddressInfo).port;
	return {
		http,
		rooms,
		port,
		url: `http://127.0.0.1:${port}`,
		async close() {
			for (const client of wss.clients) client.terminate();
			wss.close();
			await new Promise<void>((resolve) => http.close(() => resolve()));
		}
	};
}
