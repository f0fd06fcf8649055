/**
 * The storage benchmark's workload, the same in Node (fake-indexeddb) and in Chromium (bundled by
 * bench/storage.ts): an account with `chats` chats over `months` months, `messages` messages in
 * all, each message its own Yjs transaction in a Y.Map 'messages' keyed by id, as the app writes
 * them. Written once through a store, then bound again `restarts` times as after as many restarts.
 */
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { IndexedDbDocumentStore } from '../src/lib/storage/indexeddb';

export interface WorkloadOptions {
	chats: number;
	months: number;
	messages: number;
	/** How often every topic is bound again after the write (at least 2). */
	restarts: number;
	/** Prefix of every database this run makes, so that runs do not meet. */
	prefix: string;
}

export interface Row {
	store: string;
	write: number;
	/** IndexedDB write transactions while the messages were written. */
	writeTransactions: number;
	/** Binding every topic right after the write, as after a first restart. */
	firstBind: number;
	/** The same, after each of the later restarts: median and fastest (contention on a shared machine only slows). */
	laterBindMedian: number;
	laterBindBest: number;
	databases: number;
	bytesAfterWrite: number;
	bytesAfterRestarts: number;
	rawText: number;
	/** navigator.storage.estimate() growth, in the browser only. */
	diskAfterRestarts?: number;
}

interface Message {
	id: string;
	chatId: string;
	author: string;
	text: string;
	sentAt: number;
}

/** A small deterministic generator, so that every run stores the same messages. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WORDS = 'de het een en van ik je is dat niet op te zijn met wat voor maar hoe morgen samen eten trein laat vanavond goed ja nee'.split(' ');

/** Topic → its messages, spread evenly over the topics. */
export function messagesByTopic(options: WorkloadOptions): Map<string, Message[]> {
	const next = random(42);
	const topics: string[] = [];
	for (let chat = 0; chat < options.chats; chat++) {
		for (let month = 0; month < options.months; month++) topics.push(`chat/c${chat}/${2025 + Math.floor(month / 12)}-${String((month % 12) + 1).padStart(2, '0')}`);
	}
	const byTopic = new Map<string, Message[]>(topics.map((topic) => [topic, []]));
	for (let i = 0; i < options.messages; i++) {
		const topic = topics[i % topics.length]!;
		const length = 20 + Math.floor(next() * 381);
		let text = '';
		while (text.length < length) text += `${WORDS[Math.floor(next() * WORDS.length)]} `;
		byTopic.get(topic)!.push({ id: `m${i}`, chatId: topic.split('/')[1]!, author: next() < 0.5 ? 'ada' : 'bob', text: text.slice(0, length), sentAt: 1_735_689_600_000 + i * 60_000 });
	}
	return byTopic;
}

/** Lets the event loop run: each message arrives in a task of its own, as from a peer or the composer. */
const nextTask = (): Promise<void> =>
	new Promise((resolve) => {
		const channel = new MessageChannel();
		channel.port1.onmessage = () => {
			channel.port1.close();
			channel.port2.close();
			resolve();
		};
		channel.port2.postMessage(null);
	});

interface Adapter {
	name: string;
	bind(topic: string, doc: Y.Doc): Promise<void>;
	close(): Promise<void>;
}

function samenStore(prefix: string): Adapter {
	const store = new IndexedDbDocumentStore(`${prefix}samen-documents`);
	return { name: 'one database (this branch)', bind: (topic, doc) => store.bind(topic, doc), close: () => store.close() };
}

function yIndexeddb(prefix: string): Adapter {
	const persistences: IndexeddbPersistence[] = [];
	return {
		name: 'y-indexeddb, a database per topic (before)',
		async bind(topic, doc) {
			const persistence = new IndexeddbPersistence(`${prefix}samen-doc:${topic}`, doc);
			persistences.push(persistence);
			await persistence.whenSynced;
		},
		async close() {
			// Closing a database lets the transactions already started finish.
			await Promise.all(persistences.splice(0).map((persistence) => persistence.destroy()));
		}
	};
}

async function databasesOf(prefix: string): Promise<string[]> {
	return (await indexedDB.databases()).map((database) => database.name!).filter((name) => name.startsWith(prefix));
}

/** Bytes of every Uint8Array (and topic string) stored in the databases of `prefix`: what the stores hold, without the engine's own overhead. */
async function payloadBytes(prefix: string): Promise<number> {
	let total = 0;
	for (const name of await databasesOf(prefix)) {
		const db = await new Promise<IDBDatabase>((resolve, reject) => {
			const opening = indexedDB.open(name);
			opening.onsuccess = () => resolve(opening.result);
			opening.onerror = () => reject(opening.error);
		});
		const names = [...db.objectStoreNames];
		if (names.length > 0) {
			const tx = db.transaction(names, 'readonly');
			await Promise.all(
				names.map(
					(storeName) =>
						new Promise<void>((resolve, reject) => {
							const all = tx.objectStore(storeName).getAll();
							all.onsuccess = () => {
								for (const value of all.result as unknown[]) total += sizeOf(value);
								resolve();
							};
							all.onerror = () => reject(all.error);
						})
				)
			);
		}
		db.close();
	}
	return total;
}

function sizeOf(value: unknown): number {
	if (value instanceof Uint8Array) return value.byteLength;
	if (typeof value === 'string') return value.length;
	if (typeof value === 'number') return 8;
	if (value && typeof value === 'object') return Object.values(value).reduce<number>((sum, field) => sum + sizeOf(field), 0);
	return 0;
}

async function diskUsage(): Promise<number | undefined> {
	return typeof navigator !== 'undefined' && navigator.storage?.estimate ? (await navigator.storage.estimate()).usage : undefined;
}

async function bindAll(adapter: Adapter, topics: string[]): Promise<{ ms: number; messages: number }> {
	const docs = topics.map(() => new Y.Doc({ gc: false }));
	const started = performance.now();
	await Promise.all(topics.map((topic, i) => adapter.bind(topic, docs[i]!)));
	const ms = performance.now() - started;
	const messages = docs.reduce((sum, doc) => sum + doc.getMap('messages').size, 0);
	await adapter.close();
	return { ms, messages };
}

export async function runStore(kind: 'samen' | 'y-indexeddb', options: WorkloadOptions): Promise<Row> {
	const prefix = `${options.prefix}${kind}:`;
	const byTopic = messagesByTopic(options);
	const topics = [...byTopic.keys()];
	const rawText = [...byTopic.values()].flat().reduce((sum, message) => sum + new TextEncoder().encode(message.text).byteLength, 0);
	const open = () => (kind === 'samen' ? samenStore(prefix) : yIndexeddb(prefix));
	const diskBefore = await diskUsage();

	let writeTransactions = 0;
	const transaction = IDBDatabase.prototype.transaction;
	IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
		if (args[1] === 'readwrite') writeTransactions++;
		return transaction.apply(this, args);
	};
	const writer = open();
	const started = performance.now();
	const docs = new Map<string, Y.Doc>();
	for (const topic of topics) {
		const doc = new Y.Doc({ gc: false });
		await writer.bind(topic, doc);
		docs.set(topic, doc);
	}
	// Chats take turns, one message per task, as messages arrive in a day.
	const queues = topics.map((topic) => ({ doc: docs.get(topic)!, messages: byTopic.get(topic)! }));
	for (let i = 0; queues.some((queue) => i < queue.messages.length); i++) {
		for (const queue of queues) {
			const message = queue.messages[i];
			if (!message) continue;
			queue.doc.getMap('messages').set(message.id, message);
			await nextTask();
		}
	}
	await writer.close();
	const write = performance.now() - started;
	IDBDatabase.prototype.transaction = transaction;
	const bytesAfterWrite = await payloadBytes(prefix);

	const binds: number[] = [];
	for (let restart = 0; restart < options.restarts; restart++) {
		const bound = await bindAll(open(), topics);
		if (bound.messages !== options.messages) throw new Error(`${kind}: loaded ${bound.messages} messages of ${options.messages}`);
		binds.push(bound.ms);
	}
	const later = binds.slice(1).sort((a, b) => a - b);
	const diskAfter = await diskUsage();
	return {
		store: open().name,
		write,
		writeTransactions,
		firstBind: binds[0]!,
		laterBindMedian: later[Math.floor(later.length / 2)] ?? NaN,
		laterBindBest: later[0] ?? NaN,
		databases: (await databasesOf(prefix)).length,
		bytesAfterWrite,
		bytesAfterRestarts: await payloadBytes(prefix),
		rawText,
		diskAfterRestarts: diskBefore !== undefined && diskAfter !== undefined ? diskAfter - diskBefore : undefined
	};
}

export interface LoadVariant {
	variant: string;
	ms: number;
}

/**
 * How to apply a stored topic (one snapshot and `rows` one-message updates) to a new document:
 * each update in turn inside one transaction, each in turn alone, or merged first.
 */
export function loadVariants(topics: number, messagesPerSnapshot: number, rows: number): LoadVariant[] {
	const stored: Uint8Array[][] = [];
	for (let t = 0; t < topics; t++) {
		const doc = new Y.Doc({ gc: false });
		const map = doc.getMap('messages');
		for (let i = 0; i < messagesPerSnapshot; i++) map.set(`s${i}`, { id: `s${i}`, text: 'x'.repeat(200), sentAt: i });
		const updates = [Y.encodeStateAsUpdate(doc)];
		doc.on('update', (update: Uint8Array) => updates.push(update));
		for (let i = 0; i < rows; i++) map.set(`r${i}`, { id: `r${i}`, text: 'y'.repeat(200), sentAt: i });
		stored.push(updates);
	}
	const variants: [string, (doc: Y.Doc, updates: Uint8Array[]) => void][] = [
		['each in turn, in one transaction', (doc, updates) => Y.transact(doc, () => updates.forEach((update) => Y.applyUpdate(doc, update)))],
		['each in turn, a transaction each', (doc, updates) => updates.forEach((update) => Y.applyUpdate(doc, update))],
		['Y.mergeUpdates, then applied once', (doc, updates) => Y.applyUpdate(doc, Y.mergeUpdates(updates))]
	];
	// A round to warm up, then the fastest of three, taking turns.
	const best = new Map<string, number>(variants.map(([variant]) => [variant, Infinity]));
	for (let round = 0; round < 4; round++) {
		for (const [variant, load] of variants) {
			const started = performance.now();
			for (const updates of stored) load(new Y.Doc({ gc: false }), updates);
			if (round > 0) best.set(variant, Math.min(best.get(variant)!, performance.now() - started));
		}
	}
	return [...best].map(([variant, ms]) => ({ variant, ms }));
}
