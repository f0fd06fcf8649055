/**
 * The blind mailbox under load, over loopback: 10,000 keyed rooms, each filled with
 * ITEMS_PER_ROOM sealed items of ITEM_BYTES, then emptied. The server runs as `npm start` would
 * run it, in its own process (or two, sharing a local redis-server); clients are real WebSockets
 * speaking signaling-protocol.ts, joining each room with its key and signing every deposit and
 * take with it for their own connection.
 *
 *   deposits/s   CONNECTIONS sockets, each in ROOMS / CONNECTIONS rooms, each keeping WINDOW
 *                deposits in flight; from the first deposit sent to the last `deposited` received
 *   takes/s      fresh sockets (on the other process, with Redis) join every room with its key,
 *                read its `mailbox` pages up to `mailbox-end` and take those ids; from the first
 *                join until each socket has seen a reply to a join sent behind its takes (frames of
 *                a socket are handled in order, and `take` has no reply of its own). Items per
 *                second, and rooms (one signed `take` each) per second
 *   memory       one process: growth of process_resident_memory_bytes over the deposits, divided
 *                by the growth of samen_mailbox_bytes (data, id and the fixed per-item overhead);
 *                Redis: growth of INFO memory's used_memory, divided the same way
 *
 * This machine has 2 cores and the generator shares them with the server, so the generator signs
 * every deposit and take before the clock starts (a signature is bound to the connection's
 * welcome.self, so after connecting): inside the measured window the server's own work, above all
 * one Ed25519 verification per deposit and per take, has the cores to itself, but for the
 * sending and reading of frames. Under the table: what one verification costs here, the CPU each
 * process spent per operation (servers, Redis, this generator, and everything else on the
 * machine, from /proc), and a warning when other processes took a noticeable share of the CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { randomBytes, toBase64Url } from '../src/lib/crypto';
import {
	parseServerFrame,
	SIGNALING_PATH,
	signMailboxOp,
	takeFrames,
	verifyMailboxOp,
	type ClientFrame,
	type MailboxOp,
	type ServerFrame
} from '../src/lib/transport/signaling-protocol';
import { keyedRoom, type KeyedRoom } from '../tests/helpers/rooms';
import { freePort } from '../tests/helpers/ports';
import { startRedis } from '../tests/helpers/redis';

const ROOMS = 10_000;
const ITEMS_PER_ROOM = Number(process.env.MAILBOX_BENCH_ITEMS ?? 2);
const ITEM_BYTES = 1024;
const CONNECTIONS = 250;
const ROOMS_PER_CONNECTION = Math.ceil(ROOMS / CONNECTIONS);
/** Deposits a socket keeps in flight: enough to keep the server busy, few enough that no queue grows. */
const WINDOW = 4;
/** No phase may take longer; the benchmark fails rather than hangs. */
const PHASE_TIMEOUT_MS = 90_000;
const serverEntry = fileURLToPath(new URL('../signaling/main.ts', import.meta.url));

interface Instance {
	url: string;
	process: ChildProcess;
	/** The end of the server's stderr, shown when something fails. */
	stderr: () => string;
}

async function startInstance(redisUrl?: string): Promise<Instance> {
	const port = await freePort();
	const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
		env: {
			...process.env,
			PORT: String(port),
			HOST: '127.0.0.1',
			// The README's settings: one address opens every socket here, each socket is in 40 rooms,
			// and the per-socket token bucket is opened wide so that it never shapes what is measured.
			MAX_CONNECTIONS_PER_IP: '1000000',
			MAX_ROOMS_PER_CONNECTION: String(ROOMS_PER_CONNECTION),
			FRAMES_PER_SECOND: '100000',
			FRAME_BURST: '100000',
			...(redisUrl ? { REDIS_URL: redisUrl } : {})
		},
		stdio: ['ignore', 'ignore', 'pipe']
	});
	let stderr = '';
	child.stderr!.on('data', (data) => (stderr = (stderr + data).slice(-4000)));
	const url = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 100; i++) {
		try {
			if ((await fetch(`${url}/healthz`)).ok) return { url, process: child, stderr: () => stderr };
		} catch {
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	child.kill('SIGKILL');
	throw new Error(`server on ${port} did not start:\n${stderr}`);
}

function stopInstance(instance: Instance): Promise<void> {
	return new Promise((resolve) => {
		if (instance.process.exitCode !== null || instance.process.signalCode !== null) return resolve();
		const timer = setTimeout(() => instance.process.kill('SIGKILL'), 10_000);
		instance.process.once('exit', () => {
			clearTimeout(timer);
			resolve();
		});
		instance.process.kill('SIGTERM');
	});
}

async function metric(instance: Instance, name: string): Promise<number> {
	const text = await (await fetch(`${instance.url}/metrics`)).text();
	const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
	if (value === undefined) throw new Error(`/metrics has no ${name}`);
	return Number(value);
}

async function redisUsedMemory(redis: Redis): Promise<number> {
	return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? NaN);
}

/** CPU seconds (user and system) a server process has used, from /proc: Linux only, NaN elsewhere. */
function processCpuSeconds(instance: Instance): number {
	try {
		// Fields after the command's closing parenthesis; utime and stime are the 12th and 13th, in clock ticks (100 a second).
		const fields = readFileSync(`/proc/${instance.process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return NaN;
	}
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
	const info = await redis.info('cpu');
	return Number(/^used_cpu_sys:([\d.]+)/m.exec(info)?.[1] ?? NaN) + Number(/^used_cpu_user:([\d.]+)/m.exec(info)?.[1] ?? NaN);
}

/** CPU seconds the whole machine has been busy, from /proc/stat: Linux only, NaN elsewhere. */
function machineCpuSeconds(): number {
	try {
		const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
		return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
	} catch {
		return NaN;
	}
}

/**
 * CPU seconds of the servers, of Redis (0 without), of this generator, and of everything else on
 * the machine (the whole machine, in a reading; the rest of it, in a difference), so far.
 */
interface Cpu {
	servers: number;
	redis: number;
	generator: number;
	others: number;
}

async function cpuNow(instances: Instance[], redis?: Redis): Promise<Cpu> {
	const { user, system } = process.cpuUsage();
	return {
		servers: instances.map(processCpuSeconds).reduce((a, b) => a + b, 0),
		redis: redis ? await redisCpuSeconds(redis) : 0,
		generator: (user + system) / 1e6,
		others: machineCpuSeconds()
	};
}

/** CPU milliseconds per operation between two readings, and what share of the machine the rest of it took. */
function cpuPer(before: Cpu, after: Cpu, operations: number, seconds: number): { perOperation: Cpu; othersShare: number } {
	const used = (key: keyof Cpu) => after[key] - before[key];
	const others = used('others') - used('servers') - used('redis') - used('generator');
	const per = (value: number) => (value * 1000) / operations;
	return {
		perOperation: { servers: per(used('servers')), redis: per(used('redis')), generator: per(used('generator')), others: per(Math.max(0, others)) },
		othersShare: Math.max(0, others / (seconds * availableParallelism()))
	};
}

/** One socket: its peer id, and whatever handles its frames in the current phase. */
interface Client {
	ws: WebSocket;
	self: string;
	onFrame: (frame: ServerFrame) => void;
}

function connect(url: string): Promise<Client> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url.replace('http', 'ws') + SIGNALING_PATH, { perMessageDeflate: false });
		const client: Client = { ws, self: '', onFrame: () => {} };
		ws.on('error', (error) => {
			if (client.self) client.onFrame({ type: 'error', code: 'malformed', message: `socket error: ${error.message}` });
			else reject(error);
		});
		ws.on('close', (code, reason) => {
			if (client.self) client.onFrame({ type: 'error', code: 'malformed', message: `socket closed: ${code} ${reason.toString()}` });
		});
		ws.on('message', (data) => {
			const text = data.toString();
			let frame: ServerFrame;
			try {
				frame = parseServerFrame(text);
			} catch (error) {
				const message = `${(error as Error).message}: ${text.slice(0, 300)}`;
				if (client.self) client.onFrame({ type: 'error', code: 'malformed', message });
				else reject(new Error(message));
				return;
			}
			if (frame.type === 'welcome') {
				client.self = frame.self;
				resolve(client);
			} else {
				client.onFrame(frame);
			}
		});
	});
}

async function connectAll(urls: string[]): Promise<Client[]> {
	const clients: Client[] = [];
	for (let start = 0; start < CONNECTIONS; start += 50) {
		const batch = [];
		for (let c = start; c < Math.min(CONNECTIONS, start + 50); c++) batch.push(connect(urls[c % urls.length]!));
		clients.push(...(await Promise.all(batch)));
	}
	return clients;
}

function roomsOf(rooms: KeyedRoom[], c: number): KeyedRoom[] {
	return rooms.slice(c * ROOMS_PER_CONNECTION, (c + 1) * ROOMS_PER_CONNECTION);
}

function send(client: Client, frame: ClientFrame | string): void {
	client.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
}

/**
 * Runs `start` on every client, whose frames go to `handle` until it calls `done`; rejects on an
 * error frame, a closed socket or the phase timeout.
 */
function phase(
	name: string,
	clients: Client[],
	start: (client: Client, c: number) => void,
	handle: (client: Client, c: number, frame: ServerFrame, done: () => void) => void
): Promise<void> {
	return new Promise((resolve, reject) => {
		let left = clients.length;
		const timer = setTimeout(() => reject(new Error(`${name}: ${left} sockets unfinished after ${PHASE_TIMEOUT_MS / 1000} s`)), PHASE_TIMEOUT_MS);
		clients.forEach((client, c) => {
			let finished = false;
			const done = () => {
				if (finished) return;
				finished = true;
				client.onFrame = () => {};
				if (--left === 0) {
					clearTimeout(timer);
					resolve();
				}
			};
			client.onFrame = (frame) => {
				try {
					if (frame.type === 'error') throw new Error(`${frame.code}: ${frame.message}`);
					handle(client, c, frame, done);
				} catch (error) {
					clearTimeout(timer);
					reject(new Error(`${name}: ${(error as Error).message}`));
				}
			};
		});
		clients.forEach(start);
	});
}

/** Joins each client to its rooms with their keys and waits until each room's (empty) mailbox is handed over. */
function joinRooms(clients: Client[], rooms: KeyedRoom[]): Promise<void> {
	const ended = clients.map(() => 0);
	return phase(
		'join',
		clients,
		(client, c) => {
			for (const room of roomsOf(rooms, c)) send(client, { type: 'join', room: room.room, key: room.key });
		},
		(_client, c, frame, done) => {
			if (frame.type === 'mailbox') throw new Error('a new room already holds items');
			if (frame.type === 'mailbox-end' && ++ended[c]! === roomsOf(rooms, c).length) done();
		}
	);
}

function closeAll(clients: Client[]): void {
	for (const client of clients) client.ws.terminate();
}

async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
	for (let i = 0; i < 300; i++) {
		if (await check()) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`timed out waiting for ${what}`);
}

interface Result {
	label: string;
	depositsPerSecond: number;
	itemsTakenPerSecond: number;
	roomsTakenPerSecond: number;
	bytesPerStoredByte: number;
	memoryNote: string;
	/** CPU ms per signed deposit, and per signed take (one room's ids). */
	depositCpu: Cpu;
	takeCpu: Cpu;
	/** The largest share of the machine's CPU that other processes took in a measured window. */
	othersShare: number;
}

/** The item ids of a room, as its depositor names them. */
function itemIds(r: number): string[] {
	return Array.from({ length: ITEMS_PER_ROOM }, (_, k) => `item-${r}-${k}`);
}

async function run(label: string, instances: Instance[], rooms: KeyedRoom[], data: string[], redis?: Redis): Promise<Result> {
	const urls = instances.map((instance) => instance.url);
	const memory = () =>
		redis ? redisUsedMemory(redis) : Promise.all(instances.map((i) => metric(i, 'process_resident_memory_bytes'))).then((m) => m.reduce((a, b) => a + b, 0));
	const storedBytes = async () => Math.max(...(await Promise.all(instances.map((i) => metric(i, 'samen_mailbox_bytes')))));

	// Deposits: every socket joins its rooms, then the deposits are signed for it, then the clock runs.
	const depositors = await connectAll(urls);
	await joinRooms(depositors, rooms);
	const deposits = depositors.map((client, c) =>
		roomsOf(rooms, c).flatMap((room, i) => {
			const r = c * ROOMS_PER_CONNECTION + i;
			return itemIds(r).map((id, k) =>
				JSON.stringify(signMailboxOp(room.auth, client.self, { type: 'deposit', room: room.room, id, data: data[r * ITEMS_PER_ROOM + k]! }))
			);
		})
	);
	await new Promise((r) => setTimeout(r, 1000));
	const memoryBefore = await memory();
	const bytesBefore = await storedBytes();
	const sent = depositors.map(() => 0);
	const acked = depositors.map(() => 0);
	const depositCpuBefore = await cpuNow(instances, redis);
	const depositStart = performance.now();
	await phase(
		'deposit',
		depositors,
		(client, c) => {
			while (sent[c]! < Math.min(WINDOW, deposits[c]!.length)) send(client, deposits[c]![sent[c]!++]!);
		},
		(client, c, frame, done) => {
			if (frame.type !== 'deposited') return;
			if (++acked[c]! === deposits[c]!.length) done();
			else if (sent[c]! < deposits[c]!.length) send(client, deposits[c]![sent[c]!++]!);
		}
	);
	const depositSeconds = (performance.now() - depositStart) / 1000;
	const depositCount = acked.reduce((a, b) => a + b, 0);
	const depositCpu = cpuPer(depositCpuBefore, await cpuNow(instances, redis), depositCount, depositSeconds);
	// Let the last frames' garbage go before reading memory, as before the deposits.
	await new Promise((r) => setTimeout(r, 1000));
	const memoryAfter = await memory();
	const stored = (await storedBytes()) - bytesBefore;
	const items = Math.max(...(await Promise.all(instances.map((i) => metric(i, 'samen_mailbox_items')))));
	if (items !== ROOMS * ITEMS_PER_ROOM) throw new Error(`${label}: ${items} items stored, not ${ROOMS * ITEMS_PER_ROOM}`);
	closeAll(depositors);
	await waitUntil(async () => (await Promise.all(instances.map((i) => metric(i, 'samen_rooms')))).every((n) => n === 0), 'the depositors to leave');

	// Takes: fresh sockets, on the other process when there are two; takes signed for each before the clock runs.
	const takers = await connectAll([...urls.slice(1), urls[0]!]);
	const takes = takers.map((client, c) =>
		roomsOf(rooms, c).map((room, i) =>
			takeFrames(room.room, itemIds(c * ROOMS_PER_CONNECTION + i)).map((frame) =>
				JSON.stringify(signMailboxOp(room.auth, client.self, frame as MailboxOp))
			)
		)
	);
	const taken = takers.map(() => 0);
	/** Ids the pages listed so far, per socket and room. */
	const listed = takers.map(() => new Map<string, string[]>());
	const takeCpuBefore = await cpuNow(instances, redis);
	const takeStart = performance.now();
	await phase(
		'take',
		takers,
		(client, c) => {
			for (const room of roomsOf(rooms, c)) send(client, { type: 'join', room: room.room, key: room.key });
		},
		(client, c, frame, done) => {
			const mine = roomsOf(rooms, c);
			if (frame.type === 'mailbox') {
				listed[c]!.set(frame.room, [...(listed[c]!.get(frame.room) ?? []), ...frame.items.map((item) => item.id)]);
			} else if (frame.type === 'mailbox-end' && taken[c]! < mine.length) {
				const i = mine.findIndex((room) => room.room === frame.room);
				// The takes were signed before the clock started: for the ids deposited, which must be what the pages listed.
				if (listed[c]!.get(frame.room)?.join() !== itemIds(c * ROOMS_PER_CONNECTION + i).join()) {
					throw new Error(`room ${i}: the mailbox lists other items than were deposited`);
				}
				for (const take of takes[c]![i]!) send(client, take);
				// Behind its last take, a join of a room it is in: its `joined` comes once the takes are done.
				if (++taken[c]! === mine.length) send(client, { type: 'join', room: mine[0]!.room, key: mine[0]!.key });
			} else if (frame.type === 'joined' && taken[c] === mine.length && frame.room === mine[0]!.room) {
				done();
			}
		}
	);
	const takeSeconds = (performance.now() - takeStart) / 1000;
	const takeCpu = cpuPer(takeCpuBefore, await cpuNow(instances, redis), ROOMS, takeSeconds);
	const left = Math.min(...(await Promise.all(instances.map((i) => metric(i, 'samen_mailbox_items')))));
	if (left !== 0) throw new Error(`${label}: ${left} items left after the takes`);
	closeAll(takers);
	await waitUntil(async () => (await Promise.all(instances.map((i) => metric(i, 'samen_connections')))).every((n) => n === 0), 'the takers to close');

	return {
		label,
		depositsPerSecond: depositCount / depositSeconds,
		itemsTakenPerSecond: (ROOMS * ITEMS_PER_ROOM) / takeSeconds,
		roomsTakenPerSecond: ROOMS / takeSeconds,
		bytesPerStoredByte: (memoryAfter - memoryBefore) / stored,
		memoryNote: redis ? 'Redis used_memory' : 'server RSS',
		depositCpu: depositCpu.perOperation,
		takeCpu: takeCpu.perOperation,
		othersShare: Math.max(depositCpu.othersShare, takeCpu.othersShare)
	};
}

/** What one Ed25519 verification of a deposit costs in this process, as the server does it. */
function verifyCostMs(room: KeyedRoom, data: string): number {
	const op = signMailboxOp(room.auth, '0123456789abcdef', { type: 'deposit', room: room.room, id: 'item-0-0', data });
	for (let i = 0; i < 200; i++) verifyMailboxOp(room.auth.publicKey, '0123456789abcdef', op);
	const start = performance.now();
	for (let i = 0; i < 1000; i++) verifyMailboxOp(room.auth.publicKey, '0123456789abcdef', op);
	return (performance.now() - start) / 1000;
}

const started = performance.now();
const rooms = Array.from({ length: ROOMS }, () => keyedRoom());
const data = Array.from({ length: ROOMS * ITEMS_PER_ROOM }, () => toBase64Url(randomBytes(ITEM_BYTES)));
const verifyMs = verifyCostMs(rooms[0]!, data[0]!);
const results: Result[] = [];
const running: Instance[] = [];
let redisServer: Awaited<ReturnType<typeof startRedis>> | undefined;
let redis: Redis | undefined;
try {
	const single = await startInstance();
	running.push(single);
	results.push(await run('1 process, memory', [single], rooms, data));
	await stopInstance(single);
	running.length = 0;

	redisServer = await startRedis();
	redis = new Redis(redisServer.url, { lazyConnect: true });
	await redis.connect();
	running.push(await startInstance(redisServer.url), await startInstance(redisServer.url));
	results.push(await run('2 processes, Redis', running, rooms, data, redis));
} catch (error) {
	for (const instance of running) process.stderr.write(`server stderr:\n${instance.stderr()}\n`);
	throw error;
} finally {
	await Promise.all(running.map(stopInstance));
	await redis?.quit().catch(() => undefined);
	await redisServer?.stop();
}

const number = (n: number) => Math.round(n).toLocaleString('en');
const cpuText = (cpu: Cpu) =>
	`server ${cpu.servers.toFixed(2)} ms${cpu.redis > 0 ? `, Redis ${cpu.redis.toFixed(2)} ms` : ''}, generator ${cpu.generator.toFixed(2)} ms, other processes ${cpu.others.toFixed(2)} ms`;
const lines = [
	'| mailbox on | rooms | items | deposits/s | takes/s | memory per stored byte |',
	'| --- | --- | --- | --- | --- | --- |',
	...results.map(
		(r) =>
			`| ${r.label} | ${number(ROOMS)} | ${number(ROOMS * ITEMS_PER_ROOM)} × ${ITEM_BYTES} B | ${number(r.depositsPerSecond)} | ${number(r.itemsTakenPerSecond)} items (${number(r.roomsTakenPerSecond)} signed takes) | ${r.bytesPerStoredByte.toFixed(2)} B (${r.memoryNote}) |`
	),
	'',
	`One Ed25519 verification (pure JS) costs ${verifyMs.toFixed(2)} ms here: at most ${number(1000 / verifyMs)} signed deposits or takes per second per core.`,
	...results.map(
		(r) =>
			`${r.label}: CPU per signed deposit ${cpuText(r.depositCpu)}; per signed take (${ITEMS_PER_ROOM} ids, with its join and page) ${cpuText(r.takeCpu)}.`
	),
	...results
		.filter((r) => r.othersShare > 0.1)
		.map((r) => `Warning: other processes took up to ${Math.round(r.othersShare * 100)}% of this machine's CPU while "${r.label}" was measured: its rates are understated.`),
	`Stored bytes as samen_mailbox_bytes counts them: base64url data, id and 64 bytes per item. Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s.`
];
process.stdout.write(lines.join('\n') + '\n', () => process.exit(0));
