import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/lib/crypto';
import {
	FRAME_DATA,
	FRAME_HANDSHAKE,
	KIND_APPLICATION,
	MAX_HANDSHAKE_BYTES,
	openDataFrame,
	readSessionFrame,
	SessionFrameError,
	writeDataFrame,
	writeHandshakeFrame
} from '../../src/lib/protocol/session';

describe('peer session frames', () => {
	it('write and read back, with the counter on the wire binding the seal', () => {
		const key = randomBytes(32);
		const frame = readSessionFrame(writeDataFrame(key, 7n, KIND_APPLICATION, new Uint8Array([1, 2, 3])));
		expect(frame.type).toBe(FRAME_DATA);
		if (frame.type !== FRAME_DATA) return;
		expect(frame.counter).toBe(7n);
		expect(openDataFrame(key, frame)).toEqual({ kind: KIND_APPLICATION, body: new Uint8Array([1, 2, 3]) });
		// The same ciphertext presented under another counter does not open.
		expect(() => openDataFrame(key, { ...frame, counter: 8n })).toThrow();
		const handshake = readSessionFrame(writeHandshakeFrame(new Uint8Array(32).fill(9)));
		expect(handshake).toEqual({ type: FRAME_HANDSHAKE, message: new Uint8Array(32).fill(9) });
	});

	it('refuses a handshake message over the limit on both sides, short data frames and unknown types', () => {
		expect(() => writeHandshakeFrame(new Uint8Array(MAX_HANDSHAKE_BYTES + 1))).toThrow(SessionFrameError);
		expect(() => readSessionFrame(new Uint8Array([FRAME_HANDSHAKE, ...new Uint8Array(MAX_HANDSHAKE_BYTES + 1)]))).toThrow(SessionFrameError);
		expect(readSessionFrame(new Uint8Array([FRAME_HANDSHAKE, ...new Uint8Array(MAX_HANDSHAKE_BYTES)])).type).toBe(FRAME_HANDSHAKE);
		expect(() => readSessionFrame(new Uint8Array([FRAME_DATA, ...new Uint8Array(8 + 15)]))).toThrow(SessionFrameError);
		expect(() => readSessionFrame(new Uint8Array([])).type).toThrow(SessionFrameError);
		expect(() => readSessionFrame(new Uint8Array([3, 0]))).toThrow(SessionFrameError);
	});

	it('refuses a sealed frame of an unknown kind, or empty', () => {
		const key = randomBytes(32);
		for (const sealed of [writeDataFrame(key, 1n, 9, new Uint8Array(0))]) {
			const frame = readSessionFrame(sealed);
			if (frame.type !== FRAME_DATA) throw new Error('expected data');
			expect(() => openDataFrame(key, frame)).toThrow(SessionFrameError);
		}
	});
});

describe('before the handshake', () => {
	it('a peer that sends 256 large frames before completing the handshake is refused after a few KiB, and memory stays bounded', async () => {
		const { MemoryNetwork } = await import('../../src/lib/transport/memory');
		const { SecureChannel, MAX_EARLY_BYTES } = await import('../../src/lib/transport/peer-session');
		const { generateAgreementKeyPair } = await import('../../src/lib/crypto');
		const network = new MemoryNetwork();
		const room = 'early-frames-room-0000';
		const victim = new SecureChannel(network.transport(room), {
			staticKeys: generateAgreementKeyPair(),
			psk: randomBytes(32),
			prologue: new Uint8Array(0),
			introduction: () => new Uint8Array([1]),
			admit: () => ({ account: 'a', device: 'd' })
		});
		const refused: string[] = [];
		victim.on('refused', ({ reason }) => refused.push(reason));
		victim.transport.connect();
		const attacker = network.transport(room);
		attacker.connect();
		const peer = [...attacker.peers][0]!;
		// DATA frames that would wait for keys the attacker never lets the victim derive.
		for (let i = 0; i < 256; i++) attacker.send(peer, new Uint8Array(64 * 1024).fill(FRAME_DATA, 0, 1));
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(refused).toEqual(['too much before the handshake']);
		expect(victim.rejectedFrames).toBeGreaterThanOrEqual(255);
		expect(MAX_EARLY_BYTES).toBeLessThanOrEqual(16 * 1024);
		// Of the 16 MiB sent, the victim holds nothing for the refused peer.
		const held = [...(victim as unknown as { peerStates: Map<string, { early: Uint8Array[] }> }).peerStates.values()];
		expect(held.flatMap((state) => state.early)).toEqual([]);
		expect(victim.authenticatedPeers).toEqual([]);
	});
});

describe('large frames', () => {
	it('seal and open a sync message of several MiB in one frame', () => {
		const key = randomBytes(32);
		const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 253);
		const frame = readSessionFrame(writeDataFrame(key, 9n, KIND_APPLICATION, body));
		if (frame.type !== FRAME_DATA) throw new Error('expected data');
		expect(Buffer.compare(openDataFrame(key, frame).body, body)).toBe(0);
	});
});
