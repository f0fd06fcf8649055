import WebSocket from 'ws';
import type { ServerFrame } from '../../src/lib/transport/signaling-protocol';

export interface RawClient {
	ws: WebSocket;
	self: string;
	frames: ServerFrame[];
	/** The oldest unread frame of `type`, waiting for one if none has come yet. */
	next(type: ServerFrame['type']): Promise<ServerFrame>;
	/** Resolves with the close code and reason once the server closes the socket. */
	closed: Promise<{ code: number; reason: string }>;
	send(frame: unknown): void;
}

/** A bare WebSocket client that records what the signaling server sends it. */
export async function rawClient(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
	const ws = new WebSocket(url.replace(/^http/, 'ws') + '/signal', options);
	const frames: ServerFrame[] = [];
	const unread: ServerFrame[] = [];
	const waiters: { type: string; resolve: (f: ServerFrame) => void }[] = [];
	const closed = new Promise<{ code: number; reason: string }>((resolve) =>
		ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
	);
	ws.on('error', () => {});
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
	const welcome = await Promise.race([next('welcome'), closed.then(() => undefined)]);
	return {
		ws,
		self: welcome && welcome.type === 'welcome' ? welcome.self : '',
		frames,
		next,
		closed,
		send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
	};
}
