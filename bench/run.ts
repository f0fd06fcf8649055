/**
 * Benchmarks, printed as a table: `npm run bench`.
 * Devices run in Node with real WebRTC (@roamhq/wrtc) through the real signaling server on loopback.
 *
 *   link → history synced   from the user's confirmation on the primary until the new device holds
 *                           every message (N messages spread over the last 12 months)
 *   send → display          from sendMessage on one device until the other device's message list
 *                           (what its chat screen renders) contains it; 200 messages, one at a time
 *   log out → new epoch     from the primary logging out one of its 4 linked devices until each of the
 *                           4 remaining devices is on the new key epoch and has a message written
 *                           after the removal
 *   handshakes per second   Noise_XXpsk3 alone, and a whole peer session (handshake, introductions,
 *                           signed device list checked) over the in-memory network
 */
import 'fake-indexeddb/auto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateAgreementKeyPair, randomBytes } from '../src/lib/crypto';
import { NOISE_XXPSK3, NoiseHandshake } from '../src/lib/crypto/noise';
import { AccountTrust } from '../src/lib/identity/account-trust';
import { generateDeviceKeys } from '../src/lib/identity/device-keys';
import { Session } from '../src/lib/session';
import { MemoryKeyValueStore } from '../src/lib/storage/memory';
import { MemoryNetwork } from '../src/lib/transport/memory';
import { SecureChannel, type SessionPolicy } from '../src/lib/transport/peer-session';
import { silentLogger } from '../signaling/log';
import { startSignalingServer, type SignalingServer } from '../signaling/server';
import { webRtcPlatform } from '../tests/helpers/node-webrtc';
import { linkDevice, percentile, whenTrue } from './helpers';

const DAY = 24 * 60 * 60 * 1000;

async function primaryWith(server: SignalingServer, messages: number) {
	const platform = webRtcPlatform(server.url);
	const start = Date.now() - 360 * DAY;
	let n = 0;
	let writingHistory = true;
	// Spreads the history evenly over the last 360 days; the session keeps this clock, so it turns real after.
	platform.clock = () => (writingHistory ? start + Math.floor((n++ / Math.max(1, messages)) * 360 * DAY) : Date.now());
	const primary = await Session.createAccount(platform, 'Bench', 'Primary');
	for (let i = 0; i < messages; i++) await primary.chats.send('self', `message ${i} ${'x'.repeat(20 + (i % 200))}`);
	writingHistory = false;
	primary.connect();
	return { primary, platform };
}

/** A primary holding `messages` messages, and a phone linked to it through the real link flow. */
async function linkedPair(server: SignalingServer, messages: number) {
	const { primary } = await primaryWith(server, messages);
	const { device: phone, confirmedAt } = await linkDevice(server.url, primary, 'Phone');
	await whenTrue(phone, () => phone.connection.syncedPeers > 0 && phone.chats.messages('self').length === messages);
	const syncedAfterMs = performance.now() - confirmedAt;
	return { primary, phone, syncedAfterMs };
}

/** A primary with 4 linked devices, all connected; then one logged out. */
async function rotation(server: SignalingServer): Promise<number> {
	const { primary } = await primaryWith(server, 0);
	const companions: Session[] = [];
	for (let i = 0; i < 4; i++) {
		companions.push((await linkDevice(server.url, primary, `Phone ${i + 1}`)).device);
		await whenTrue(primary, () => primary.connection.syncedPeers === companions.length);
	}
	const all = [primary, ...companions];
	await Promise.all(all.map((device) => whenTrue(device, () => device.connection.peers === 4 && device.trust.deviceList.version === 5)));
	const [removed, ...remaining] = companions;
	const started = performance.now();
	primary.removeDevice(removed!.self.id);
	const text = 'after the removal';
	await Promise.all([primary, ...remaining].map((device) => whenTrue(device, () => device.trust.currentEpoch.epoch === 2 && device.connection.peers === 3)));
	await primary.chats.send('self', text);
	await Promise.all(remaining.map((device) => whenTrue(device, () => device.chats.messages('self').some((message) => message.text === text))));
	return performance.now() - started;
}

/** Handshakes per second: Noise alone, then whole sessions with the signed device list checked. */
async function handshakes(): Promise<[string, string][]> {
	const psk = randomBytes(32);
	const a = generateAgreementKeyPair();
	const b = generateAgreementKeyPair();
	const rounds = 300;
	let started = performance.now();
	for (let i = 0; i < rounds; i++) {
		const initiator = new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: true, staticKeys: a, psk });
		const responder = new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: false, staticKeys: b, psk });
		responder.readMessage(initiator.writeMessage());
		initiator.readMessage(responder.writeMessage());
		responder.readMessage(initiator.writeMessage());
	}
	const noisePerSecond = rounds / ((performance.now() - started) / 1000);
	const keys = [generateDeviceKeys(), generateDeviceKeys()];
	const primary = await AccountTrust.create(new MemoryKeyValueStore(), keys[0]!, Date.now, 'Primary', 'computer');
	const { deviceList } = primary.linkDevice({ signKey: keys[1]!.signing.publicKey, agreeKey: keys[1]!.agreement.publicKey, name: 'Phone', kind: 'phone' });
	const companion = await AccountTrust.join(new MemoryKeyValueStore(), keys[1]!, Date.now, deviceList, primary.freshHeartbeat());
	const trusts = [primary, companion];
	const policy = (index: number): SessionPolicy => ({
		staticKeys: keys[index]!.agreement,
		psk,
		prologue: new Uint8Array(0),
		introduction: () => trusts[index]!.introduction(),
		admit: (_peer, remote, introduction) => {
			trusts[index]!.consider(introduction);
			const device = trusts[index]!.deviceByAgreementKey(remote);
			return device ? { account: trusts[index]!.accountId, device: device.id } : undefined;
		}
	});
	const sessions = 200;
	started = performance.now();
	for (let i = 0; i < sessions; i++) {
		const network = new MemoryNetwork();
		const left = new SecureChannel(network.transport('bench-room-0000'), policy(0));
		const right = new SecureChannel(network.transport('bench-room-0000'), policy(1));
		const both = Promise.all([left, right].map((channel) => new Promise((resolve) => channel.on('authenticated', resolve))));
		left.transport.connect();
		right.transport.connect();
		await both;
		left.close();
		right.close();
	}
	const sessionsPerSecond = sessions / ((performance.now() - started) / 1000);
	return [
		['Noise_XXpsk3 handshakes per second (Node, one core)', noisePerSecond.toFixed(0)],
		['peer sessions per second: handshake + introductions + signed device list checked (in memory)', sessionsPerSecond.toFixed(0)]
	];
}

async function linkAndSync(server: SignalingServer, messages: number): Promise<{ ms: number; topics: number }> {
	const { phone, syncedAfterMs } = await linkedPair(server, messages);
	const topics = new Set(phone.chats.messages('self').map((m) => new Date(m.sentAt).toISOString().slice(0, 7))).size;
	return { ms: syncedAfterMs, topics };
}

async function latency(server: SignalingServer, count: number): Promise<number[]> {
	const { primary, phone } = await linkedPair(server, 0);
	const samples: number[] = [];
	for (let i = 0; i < count; i++) {
		const [sender, receiver] = i % 2 === 0 ? [primary, phone] : [phone, primary];
		const text = `latency ${i}`;
		const started = performance.now();
		await sender.chats.send('self', text);
		await whenTrue(receiver, () => receiver.chats.messages('self').some((message) => message.text === text));
		samples.push(performance.now() - started);
	}
	return samples.sort((a, b) => a - b);
}

/** One case per child process, which exits without tearing its WebRTC connections down: closing
 * @roamhq/wrtc peer connections, or running several cases in one process, sometimes blocked the
 * event loop for good here, which would measure the binding rather than Samen. */
async function runCase(name: string): Promise<[string, string][]> {
	if (name === 'handshakes') return handshakes();
	const server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
	const [kind, size] = name.split(':');
	if (kind === 'rotation') return [['log out one of 4 linked devices → the 4 remaining on the new epoch, message delivered', `${(await rotation(server)).toFixed(0)} ms`]];
	if (kind === 'link') {
		const messages = Number(size);
		const { ms, topics } = await linkAndSync(server, messages);
		return [[`link → history synced, ${messages.toLocaleString('en')} messages in ${topics} monthly documents`, `${ms.toFixed(0)} ms`]];
	}
	const samples = await latency(server, Number(size));
	return [
		[`send → display between two devices, p50 (${size} messages)`, `${percentile(samples, 50).toFixed(1)} ms`],
		[`send → display between two devices, p99 (${size} messages)`, `${percentile(samples, 99).toFixed(1)} ms`]
	];
}

function inChild(name: string): Promise<[string, string][]> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
			env: { ...process.env, BENCH_CASE: name },
			stdio: ['ignore', 'pipe', 'inherit']
		});
		let output = '';
		child.stdout.on('data', (data) => (output += data));
		const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
		child.on('exit', (code) => {
			clearTimeout(timer);
			if (code === 0) resolve(JSON.parse(output) as [string, string][]);
			else reject(new Error(`benchmark ${name} failed (exit ${code})`));
		});
	});
}

function finish(text: string): void {
	// WebRTC's native threads keep Node alive, so exit explicitly, once the output is written.
	process.stdout.write(text + '\n', () => process.exit(0));
}

const single = process.env.BENCH_CASE;
if (single) {
	finish(JSON.stringify(await runCase(single)));
} else {
	const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
	const rows: [string, string][] = [];
	for (const name of [...sizes.map((size) => `link:${size}`), 'latency:200', 'rotation', 'handshakes']) rows.push(...(await inChild(name)));
	const width = Math.max(...rows.map(([name]) => name.length));
	finish(
		[
			`| ${'benchmark'.padEnd(width)} | result |`,
			`| ${'-'.repeat(width)} | ------ |`,
			...rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value} |`)
		].join('\n')
	);
}
