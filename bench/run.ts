/**
 * Benchmarks, printed as a table: `npm run bench`.
 * Devices run in Node with real WebRTC (@roamhq/wrtc) through the real signaling server on loopback.
 *
 *   link → history synced   from the user's confirmation on the primary until the new device holds
 *                           every message (N messages spread over the last 12 months)
 *   send → display          from sendMessage on one device until the other device's message list
 *                           (what its chat screen renders) contains it; 200 messages, one at a time
 */
import 'fake-indexeddb/auto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LinkApproval, LinkInvitation, type LinkState } from '../src/lib/account/link';
import { Device, type AccountBundle } from '../src/lib/device';
import { silentLogger } from '../signaling/log';
import { startSignalingServer, type SignalingServer } from '../signaling/server';
import { webRtcPlatform } from '../tests/helpers/node-webrtc';

const DAY = 24 * 60 * 60 * 1000;

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function whenState(emitter: LinkApproval | LinkInvitation, kind: LinkState['kind']): Promise<void> {
	return new Promise((resolve, reject) => {
		const check = (state: LinkState) => {
			if (state.kind === kind) resolve();
			else if (state.kind === 'failed') reject(new Error(`link failed: ${state.error}`));
		};
		(emitter as LinkApproval).on('state', check);
		check(emitter.state);
	});
}

function whenTrue(device: Device, check: () => boolean): Promise<void> {
	return new Promise((resolve) => {
		if (check()) return resolve();
		const stop = device.on('changed', () => {
			if (check()) {
				stop();
				resolve();
			}
		});
	});
}

async function primaryWith(server: SignalingServer, messages: number) {
	const platform = webRtcPlatform(server.url);
	const start = Date.now() - 360 * DAY;
	let n = 0;
	// Spreads the history evenly over the last 360 days.
	platform.clock = () => start + Math.floor((n++ / Math.max(1, messages)) * 360 * DAY);
	const primary = await Device.createAccount(platform, 'Bench', 'Primary');
	for (let i = 0; i < messages; i++) await primary.sendMessage('self', `message ${i} ${'x'.repeat(20 + (i % 200))}`);
	platform.clock = () => Date.now();
	primary.connect();
	return { primary, platform };
}

/** A primary holding `messages` messages, and a phone linked to it through the real link flow. */
async function linkedPair(server: SignalingServer, messages: number) {
	const { primary } = await primaryWith(server, messages);
	const phonePlatform = webRtcPlatform(server.url);
	const approvalPlatform = webRtcPlatform(server.url);
	const invitation = new LinkInvitation('Phone', phonePlatform.transport, phonePlatform.clock);
	const bundle = new Promise<AccountBundle>((resolve) => invitation.on('bundle', resolve));
	invitation.start();
	const approval = new LinkApproval(invitation.payload, primary, approvalPlatform.transport, Date.now);
	approval.start();
	await whenState(approval, 'confirm');
	const confirmedAt = performance.now();
	approval.confirm();
	const phone = await Device.joinAccount(phonePlatform, await bundle);
	phone.connect();
	await whenTrue(phone, () => phone.connection.syncedPeers > 0 && phone.messages('self').length === messages);
	const syncedAfterMs = performance.now() - confirmedAt;
	return { primary, phone, syncedAfterMs };
}

async function linkAndSync(server: SignalingServer, messages: number): Promise<{ ms: number; topics: number }> {
	const { phone, syncedAfterMs } = await linkedPair(server, messages);
	const topics = new Set(phone.messages('self').map((m) => new Date(m.sentAt).toISOString().slice(0, 7))).size;
	return { ms: syncedAfterMs, topics };
}

async function latency(server: SignalingServer, count: number): Promise<number[]> {
	const { primary, phone } = await linkedPair(server, 0);
	const samples: number[] = [];
	for (let i = 0; i < count; i++) {
		const [sender, receiver] = i % 2 === 0 ? [primary, phone] : [phone, primary];
		const text = `latency ${i}`;
		const started = performance.now();
		await sender.sendMessage('self', text);
		await whenTrue(receiver, () => receiver.messages('self').at(-1)?.text === text);
		samples.push(performance.now() - started);
	}
	return samples.sort((a, b) => a - b);
}

/** One case per child process, which exits without tearing its WebRTC connections down: closing
 * @roamhq/wrtc peer connections, or running several cases in one process, sometimes blocked the
 * event loop for good here, which would measure the binding rather than Samen. */
async function runCase(name: string): Promise<[string, string][]> {
	const server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
	const [kind, size] = name.split(':');
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
	for (const name of [...sizes.map((size) => `link:${size}`), 'latency:200']) rows.push(...(await inChild(name)));
	const width = Math.max(...rows.map(([name]) => name.length));
	finish(
		[
			`| ${'benchmark'.padEnd(width)} | result |`,
			`| ${'-'.repeat(width)} | ------ |`,
			...rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value} |`)
		].join('\n')
	);
}
