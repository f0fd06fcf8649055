import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { SignalingClient, signalingUrlFor, type WebSocketLike } from '../../src/lib/transport/signaling-client';
import { CONNECT_TIMEOUT_MS, WebRtcTransport, type PeerFactory } from '../../src/lib/transport/webrtc';
import { keyedRoom } from '../helpers/rooms';
import { runTransportConformance } from './transport.suite';

runTransportConformance(
	'in memory',
	async (count) => {
		const network = new MemoryNetwork();
		const { room, auth } = keyedRoom();
		const transports = Array.from({ length: count }, () => network.transport(room, auth));
		const outsider = () => {
			const transport = network.transport(room);
			transports.push(transport);
			return transport;
		};
		const mailboxOnly = () => {
			const transport = network.transport(room, auth, 'mailbox');
			transports.push(transport);
			return transport;
		};
		return { transports: [...transports], outsider, mailboxOnly, teardown: () => transports.forEach((transport) => transport.close()) };
	},
	{ mailbox: true }
);

// As in tests/helpers/node-webrtc.ts: simple-peer over @roamhq/wrtc, and the `ws` WebSocket.
const nodePeer: PeerFactory = (options) => new SimplePeer({ ...options, wrtc });
const nodeSignaling = (serverUrl: string) =>
	new SignalingClient(signalingUrlFor(serverUrl), (url) => new WebSocket(url) as unknown as WebSocketLike);

let server: SignalingServer;
beforeAll(async () => {
	server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
});
afterAll(async () => {
	await server.close();
});

// One signaling client per transport, as on separate devices; each test a room of its own.
runTransportConformance(
	'WebRTC through the signaling server',
	async (count) => {
		const { room, auth } = keyedRoom();
		const clients = Array.from({ length: count }, () => nodeSignaling(server.url));
		const transports = clients.map((client) => new WebRtcTransport(room, client, nodePeer, CONNECT_TIMEOUT_MS, auth));
		const outsider = () => {
			const client = nodeSignaling(server.url);
			const transport = new WebRtcTransport(room, client, nodePeer);
			clients.push(client);
			transports.push(transport);
			return transport;
		};
		const mailboxOnly = () => {
			const client = nodeSignaling(server.url);
			const transport = new WebRtcTransport(room, client, nodePeer, CONNECT_TIMEOUT_MS, auth, 'mailbox');
			clients.push(client);
			transports.push(transport);
			return transport;
		};
		return {
			transports: [...transports],
			outsider,
			mailboxOnly,
			teardown: () => {
				for (const transport of transports) transport.close();
				for (const client of clients) client.close();
			}
		};
	},
	{ mailbox: true, waitMs: 15_000 }
);
