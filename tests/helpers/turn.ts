/**
 * Debian's TURN server (coturn's `turnserver`) on a free port of its own, for one test file.
 *
 * It listens and relays on one address (127.0.0.1 unless told otherwise), with one user of the
 * long-term credential mechanism and a password made up for the run, no TLS or DTLS, no CLI, and
 * a relay range of 20 ports above Linux's default ephemeral range. `-n` keeps it from reading
 * /etc/turnserver.conf (Debian's sends the log to syslog); pid file, user database and log go into
 * a temporary folder that `stop()` removes.
 *
 * The peer of one allocation is the other allocation's relay address, so when coturn relays on a
 * loopback address every peer is a loopback peer, which coturn refuses unless started with
 * `--allow-loopback-peers`. That flag is added for a loopback relay address and for nothing else.
 * (coturn 4.6 refuses no private range by default; `--denied-peer-ip` would.)
 *
 * `--verbose` is what makes coturn log sessions at all, including the bytes each one relayed,
 * which it writes when the allocation ends (a client's REFRESH with lifetime 0 ends it about a
 * second later). coturn's stdout is block-buffered when it is a pipe, so the log goes to a file.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IceServer } from '../../src/lib/transport/signaling-protocol';

export interface TurnServer {
	/** What to hand to the devices: `turn:host:port?transport=udp` with this run's user and password. */
	readonly iceServer: IceServer;
	/** The address coturn listens and relays on. */
	readonly host: string;
	/** Everything coturn has logged so far. */
	log(): string;
	/** Bytes relayed to and from peers by the allocations that have ended so far. */
	peerUsage(): { allocations: number; sentToPeers: number; receivedFromPeers: number };
	stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const RELAY_PORTS = 20;
const USERNAME = 'samen';
const PEER_USAGE = /peer usage: realm=<[^>]*>, username=<([^>]*)>, rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)/g;

/** A port free for both UDP and TCP on `host` (coturn listens on both). */
async function freePort(host: string): Promise<number> {
	for (let attempt = 0; attempt < 20; attempt++) {
		const udp = createSocket('udp4');
		const port = await new Promise<number>((resolve, reject) => {
			udp.once('error', reject);
			udp.bind(0, host, () => resolve(udp.address().port));
		});
		const tcpFree = await new Promise<boolean>((resolve) => {
			const probe = createServer();
			probe.once('error', () => resolve(false));
			probe.listen(port, host, () => probe.close(() => resolve(true)));
		});
		await new Promise<void>((resolve) => udp.close(() => resolve()));
		if (tcpFree) return port;
	}
	throw new Error(`no port free for both UDP and TCP on ${host}`);
}

/** Whether a STUN Binding request (RFC 5389) to host:port gets its success response in time. */
async function stunAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
	const socket = createSocket('udp4');
	const request = Buffer.alloc(20);
	request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
	request.writeUInt32BE(0x2112a442, 4); // magic cookie
	randomBytes(12).copy(request, 8); // transaction id
	try {
		return await new Promise<boolean>((resolve) => {
			const send = () => socket.send(request, port, host);
			const retry = setInterval(send, 100);
			const timer = setTimeout(() => (clearInterval(retry), resolve(false)), timeoutMs);
			socket.on('message', (answer) => {
				if (answer.length >= 20 && answer.readUInt16BE(0) === 0x0101 && answer.subarray(8, 20).equals(request.subarray(8, 20))) {
					clearInterval(retry);
					clearTimeout(timer);
					resolve(true);
				}
			});
			send();
		});
	} finally {
		socket.close();
	}
}

export async function startTurnServer(options: { host?: string } = {}): Promise<TurnServer> {
	const host = options.host ?? '127.0.0.1';
	const port = await freePort(host);
	const minPort = randomInt(61_000, 65_535 - RELAY_PORTS);
	const password = randomBytes(12).toString('hex');
	const dir = await mkdtemp(join(tmpdir(), 'samen-turn-'));
	const logFile = join(dir, 'turnserver.log');
	const args = [
		'-n',
		'--listening-ip', host,
		'--relay-ip', host,
		'--listening-port', String(port),
		'--min-port', String(minPort),
		'--max-port', String(minPort + RELAY_PORTS - 1),
		'--lt-cred-mech',
		'--user', `${USERNAME}:${password}`,
		'--realm', 'samen.test',
		'--fingerprint',
		'--no-tls',
		'--no-dtls',
		'--no-cli',
		'--verbose',
		'--log-file', logFile,
		'--simple-log',
		'--no-stdout-log',
		'--pidfile', join(dir, 'turnserver.pid'),
		'--userdb', join(dir, 'turndb'),
		...(host.startsWith('127.') ? ['--allow-loopback-peers'] : [])
	];
	const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
	const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (data) => (output += data));
	child.stderr.on('data', (data) => (output += data));
	const failed = new Promise<string>((resolve) => {
		child.once('error', (error) =>
			resolve(
				`turnserver (Debian's coturn) could not run: ${error.message}. ` +
					'Install it with `npm run setup:test` (as root) or `apt-get install coturn`.'
			)
		);
		child.once('exit', (code, signal) => resolve(`turnserver stopped at start (${signal ?? `exit code ${code}`}):\n${output}${log()}`));
	});
	const stop = async () => {
		if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
			const gone = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
			await gone;
			clearTimeout(timer);
		}
		await rm(dir, { recursive: true, force: true });
	};
	const ready = await Promise.race([stunAnswers(host, port, START_TIMEOUT_MS), failed]);
	if (ready !== true) {
		await stop();
		throw new Error(ready === false ? `turnserver did not answer STUN on ${host}:${port} within ${START_TIMEOUT_MS} ms:\n${output}${log()}` : ready);
	}
	return {
		iceServer: { urls: `turn:${host}:${port}?transport=udp`, username: USERNAME, credential: password },
		host,
		log,
		peerUsage() {
			const usage = { allocations: 0, sentToPeers: 0, receivedFromPeers: 0 };
			for (const [, user, , received, , sent] of log().matchAll(PEER_USAGE)) {
				if (user !== USERNAME) continue;
				usage.allocations++;
				usage.receivedFromPeers += Number(received);
				usage.sentToPeers += Number(sent);
			}
			return usage;
		},
		stop
	};
}
