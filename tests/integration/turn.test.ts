/**
 * Relayed connections: two devices that may use relay candidates only (`iceTransportPolicy:
 * 'relay'`) connect through a real TURN server (Debian's coturn, started here), which the real
 * signaling server hands them as its ICE server, and exchange messages both ways. Two witnesses
 * say the data went through the relay: the candidate pair each RTCPeerConnection selected (its
 * local candidate is a relay candidate on coturn's address), and coturn's own count of the bytes
 * its allocations relayed to peers.
 */
import type SimplePeer from 'simple-peer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES } from '../../src/lib/transport/framing';
import type { PeerId } from '../../src/lib/transport/types';
import { WebRtcTransport, type PeerFactory } from '../../src/lib/transport/webrtc';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { nodePeer, nodeSignaling } from '../helpers/node-webrtc';
import { startTurnServer, type TurnServer } from '../helpers/turn';

let turn: TurnServer;
let server: SignalingServer;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
	turn = await startTurnServer();
	server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger, iceServers: [turn.iceServer] });
});
afterEach(async () => {
	for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(async () => {
	await server?.close();
	await turn?.stop();
});

/** Node peers that gather and use relay candidates only; each one made is kept in `made`. */
function relayOnly(made: SimplePeer.Instance[]): PeerFactory {
	return (options) => {
		const peer = nodePeer({ ...options, config: { ...options.config, iceTransportPolicy: 'relay' } });
		made.push(peer);
		return peer;
	};
}

interface CandidateStats {
	candidateType?: string;
	address?: string;
	relayProtocol?: string;
}

/** The local and remote candidates of the pair that a peer's RTCPeerConnection has selected. */
async function selectedPair(peer: SimplePeer.Instance): Promise<{ local: CandidateStats; remote: CandidateStats }> {
	const pc = (peer as unknown as { _pc: RTCPeerConnection })._pc;
	const stats = new Map<string, Record<string, unknown>>();
	(await pc.getStats()).forEach((entry: Record<string, unknown>) => stats.set(entry.id as string, entry));
	const all = [...stats.values()];
	const transport = all.find((entry) => entry.type === 'transport' && entry.selectedCandidatePairId);
	const pair = transport
		? stats.get(transport.selectedCandidatePairId as string)
		: all.find((entry) => entry.type === 'candidate-pair' && entry.nominated && entry.state === 'succeeded');
	if (!pair) throw new Error(`no selected candidate pair in the stats: ${JSON.stringify(all)}`);
	return {
		local: (stats.get(pair.localCandidateId as string) ?? {}) as CandidateStats,
		remote: (stats.get(pair.remoteCandidateId as string) ?? {}) as CandidateStats
	};
}

function lastLines(text: string, count: number): string {
	return text.trimEnd().split('\n').slice(-count).join('\n');
}

function within<T>(ms: number, what: string, run: (resolve: (value: T) => void) => () => void): Promise<T> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => (stop(), reject(new Error(`${what} within ${ms} ms; coturn's last log lines:\n${lastLines(turn.log(), 40)}`))), ms);
		const stop = run((value) => (clearTimeout(timer), stop(), resolve(value)));
	});
}

const connected = (transport: WebRtcTransport) =>
	within<PeerId>(20_000, 'relay-only peers did not connect', (resolve) => transport.on('peer-connected', resolve));
const nextMessage = (transport: WebRtcTransport) =>
	within<Uint8Array>(20_000, 'no message arrived', (resolve) => transport.on('message', ({ data }) => resolve(data)));

function pattern(length: number, step: number): Uint8Array {
	return new Uint8Array(length).map((_, i) => (i * step) % 251);
}

describe('through a real TURN server (coturn)', () => {
	it('with the server set to relay only, devices with no setting of their own connect through the relay', async () => {
		const relayServer = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger, iceServers: [turn.iceServer], iceTransportPolicy: 'relay' });
		cleanup.push(() => relayServer.close());
		const a = nodeSignaling(relayServer.url);
		const b = nodeSignaling(relayServer.url);
		cleanup.push(() => a.close(), () => b.close());
		const made: SimplePeer.Instance[] = [];
		// The devices' own factory adds nothing: the policy comes from the server's welcome.
		const plain: PeerFactory = (options) => {
			const peer = nodePeer(options);
			made.push(peer);
			return peer;
		};
		const room = 'u'.repeat(32);
		const left = new WebRtcTransport(room, a, plain);
		const right = new WebRtcTransport(room, b, plain);
		cleanup.push(() => left.close(), () => right.close());
		const leftConnected = connected(left);
		left.connect();
		right.connect();
		const toRight = await leftConnected;
		const atRight = nextMessage(right);
		left.send(toRight, new Uint8Array([7]));
		expect(await atRight).toEqual(new Uint8Array([7]));
		expect(a.iceTransportPolicy).toBe('relay');
		const live = made.filter((peer) => peer.connected);
		expect(live.length).toBeGreaterThan(0);
		for (const peer of live) expect((await selectedPair(peer)).local.candidateType).toBe('relay');
	});

	it('connects two relay-only peers, moves messages both ways, and the bytes pass through the relay', async () => {
		const a = nodeSignaling(server.url);
		const b = nodeSignaling(server.url);
		cleanup.push(() => a.close(), () => b.close());
		const room = 't'.repeat(32);
		const leftPeers: SimplePeer.Instance[] = [];
		const rightPeers: SimplePeer.Instance[] = [];
		const left = new WebRtcTransport(room, a, relayOnly(leftPeers));
		const right = new WebRtcTransport(room, b, relayOnly(rightPeers));
		cleanup.push(() => left.close(), () => right.close());
		const leftConnected = connected(left);
		const rightConnected = connected(right);
		left.connect();
		right.connect();
		const [toRight, toLeft] = await Promise.all([leftConnected, rightConnected]);
		expect(a.iceServers).toEqual([turn.iceServer]);
		expect(b.iceServers).toEqual([turn.iceServer]);

		const big = pattern(5 * MAX_CHUNK_BYTES + 123, 7);
		const reply = pattern(2 * MAX_CHUNK_BYTES + 45, 13);
		const atRight = nextMessage(right);
		left.send(toRight, big);
		expect(Buffer.compare(Buffer.from(await atRight), Buffer.from(big))).toBe(0);
		const atLeft = nextMessage(left);
		right.send(toLeft, reply);
		expect(Buffer.compare(Buffer.from(await atLeft), Buffer.from(reply))).toBe(0);
		const small = nextMessage(right);
		left.send(toRight, new Uint8Array([42]));
		expect(await small).toEqual(new Uint8Array([42]));

		const live = [...leftPeers, ...rightPeers].filter((peer) => peer.connected);
		expect(live).toHaveLength(2);
		for (const peer of live) {
			const { local, remote } = await selectedPair(peer);
			expect(local).toMatchObject({ candidateType: 'relay', address: turn.host, relayProtocol: 'udp' });
			// The other side's relay address (its type may read 'prflx' if its checks came before its candidate).
			expect(remote.address).toBe(turn.host);
		}

		// Closing ends the allocations (REFRESH, lifetime 0); coturn then logs what each relayed.
		left.close();
		right.close();
		const usage = await within<ReturnType<TurnServer['peerUsage']>>(10_000, 'coturn logged no relayed bytes', (resolve) => {
			const poll = setInterval(() => {
				const now = turn.peerUsage();
				if (now.sentToPeers >= big.length + reply.length) resolve(now);
			}, 100);
			return () => clearInterval(poll);
		});
		expect(usage.receivedFromPeers).toBeGreaterThanOrEqual(big.length + reply.length);
	});
});
