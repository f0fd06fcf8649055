/**
 * IndexedDB adapters.
 *
 * Documents: one database (`samen-documents`) holds every topic's Yjs document, in three stores:
 * - `snapshots`: topic → the document's full state at its last compaction, one Yjs update (v1).
 * - `updates`: auto-increment key → `{ topic, update }`, index `topic`: changes saved since then.
 * - `topics`: topic → `{ stateVector, deletions, description, snapshotBytes, updateBytes, updates }`,
 *   small and rewritten with every save, so that `summaries()`, `topics()`, `stateVector()` and
 *   `sizes()` read no document. `deletions` is a digest of the delete set (./state.ts);
 *   `description` is what the `describe` given to `bind` makes of the document (the chat list's
 *   summary of a month, its weight for a sync).
 *
 * `bind` reads a topic's snapshot and rows in one transaction and applies them in one Yjs
 * transaction. Saving runs behind the documents: the first change of a task starts a write; while
 * it runs, later changes of every topic wait and go together in the next one, so there is one
 * write transaction in flight at a time and writes land in order.
 *
 * Compaction: when a topic would have more than `maxRows` rows, or its rows would outweigh its
 * snapshot, the write that would add them instead puts the document's full state as the new
 * snapshot and deletes exactly the rows it knows the document holds, in the same transaction. A
 * change made meanwhile is saved by the next write as a new row, so none is lost.
 *
 * Records: a database of their own (`samen-records`), one object store, JSON values.
 */
import * as idb from 'lib0/indexeddb';
import * as Y from 'yjs';
import { isQuotaError, StorageError, type StorageErrorHandler } from './errors';
import { documentState } from './state';
import { applyChanging, applyUnheard, hasPending, type DocumentStore, type KeyValueStore, type StoredTopic } from './types';

export { StorageError } from './errors';

const SNAPSHOTS = 'snapshots';
const UPDATES = 'updates';
const TOPICS = 'topics';
const BY_TOPIC = 'topic';
const SCHEMA_VERSION = 1;

/** Rows a topic may gather before its next save compacts it. */
export const MAX_UPDATE_ROWS = 100;

/** The state vector of a document with nothing in it. */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

interface UpdateRow {
	topic: string;
	update: Uint8Array;
}

interface TopicRecord {
	stateVector: Uint8Array;
	/** Absent in records written before it was kept. */
	deletions?: Uint8Array;
	/** The document held nothing Yjs could not integrate when this was saved (absent: unknown). */
	integrated?: boolean;
	description?: unknown;
	snapshotBytes: number;
	updateBytes: number;
	updates: number;
}

/** A bound document and what this store knows is saved of it. */
interface Binding {
	topic: string;
	doc: Y.Doc;
	describe?: (doc: Y.Doc) => unknown;
	listener: (update: Uint8Array, origin: unknown) => void;
	/** False until what is stored has been applied: nothing is saved before. */
	loaded: boolean;
	/** Keys of the rows whose changes the document holds: deleted when it is compacted. */
	rows: number[];
	rowBytes: number;
	/** Keys of rows that could not be read: deleted with the next compaction. */
	damaged: number[];
	snapshotBytes: number;
	/** Changes made but not yet saved, oldest first. */
	pending: Uint8Array[];
}

export interface IndexedDbDocumentStoreOptions {
	/** Receives failures no caller awaits: a save that failed, a damaged record skipped on load. */
	onError?: StorageErrorHandler;
	maxRows?: number;
	/** Moves documents that y-indexeddb kept in databases `${legacyPrefix}${topic}` into this one. */
	legacyPrefix?: string;
}

export class IndexedDbDocumentStore implements DocumentStore {
	private database?: Promise<IDBDatabase>;
	private readonly bindings = new Map<string, Binding>();
	private readonly dirty = new Set<Binding>();
	private pumping?: Promise<void>;
	private failure?: StorageError;
	private reading?: { topics: string[]; result: Promise<Map<string, Loaded>> };
	private readonly onError: StorageErrorHandler;
	private readonly maxRows: number;

	constructor(
		private readonly name = 'samen-documents',
		private readonly options: IndexedDbDocumentStoreOptions = {}
	) {
		this.onError = options.onError ?? ((error) => console.error(error));
		this.maxRows = options.maxRows ?? MAX_UPDATE_ROWS;
	}

	async bind(topic: string, doc: Y.Doc, describe?: (doc: Y.Doc) => unknown): Promise<void> {
		if (this.bindings.has(topic)) throw new Error(`${topic} is already bound to this store`);
		const binding: Binding = {
			topic,
			doc,
			describe,
			// Changes made while the topic loads wait until it is loaded: a save before then could compact it without its stored state.
			listener: (update, origin) => {
				if (origin === this) return;
				if (binding.loaded) this.saveLater(binding, update);
				else binding.pending.push(update);
			},
			loaded: false,
			rows: [],
			rowBytes: 0,
			damaged: [],
			snapshotBytes: 0,
			// What the document held before it was bound is saved like any change.
			pending: doc.store.clients.size > 0 ? [Y.encodeStateAsUpdate(doc)] : []
		};
		this.bindings.set(topic, binding);
		doc.on('update', binding.listener);
		let loaded: Loaded;
		try {
			loaded = await this.read(topic);
		} catch (cause) {
			if (this.bindings.get(topic) === binding) this.unbind(binding);
			throw new StorageError(`could not load ${topic} from this device's storage`, { cause });
		}
		const skipped: string[] = [];
		// Unheard while what is stored is applied: with no 'update' listener Yjs encodes no update of
		// the whole document, which this store would only ignore (that was half the cost of a load).
		doc.off('update', binding.listener);
		Y.transact(
			doc,
			() => {
				if (loaded.snapshot !== undefined) {
					if (applySafely(doc, loaded.snapshot, this)) binding.snapshotBytes = loaded.snapshot.byteLength;
					else skipped.push('its snapshot');
				}
				for (const [i, key] of loaded.keys.entries()) {
					const update = (loaded.rows[i] as Partial<UpdateRow> | undefined)?.update;
					if (applySafely(doc, update, this)) {
						binding.rows.push(key);
						binding.rowBytes += update.byteLength;
					} else {
						binding.damaged.push(key);
						skipped.push(`change ${key}`);
					}
				}
			},
			this
		);
		if (this.bindings.get(topic) === binding) doc.on('update', binding.listener);
		if (skipped.length > 0) {
			this.onError(new StorageError(`part of ${topic} saved on this device could not be read and was skipped (${skipped.join(', ')}); other devices can send it again`));
		}
		// Deleted, cleared or closed while it loaded: nothing more to save.
		if (this.bindings.get(topic) !== binding) return;
		binding.loaded = true;
		if (binding.pending.length > 0 || this.shouldCompact(binding, binding.rows.length, binding.rowBytes)) this.saveLater(binding);
	}

	async topics(): Promise<string[]> {
		const db = await this.db();
		const tx = db.transaction(TOPICS, 'readonly');
		const [keys] = await Promise.all([request<string[]>(tx.objectStore(TOPICS).getAllKeys()), completion(tx)]);
		return keys;
	}

	async stateVector(topic: string): Promise<Uint8Array> {
		const db = await this.db();
		const tx = db.transaction(TOPICS, 'readonly');
		const [record] = await Promise.all([request<TopicRecord | undefined>(tx.objectStore(TOPICS).get(topic)), completion(tx)]);
		if (record === undefined) return EMPTY_STATE_VECTOR.slice();
		if (isBytes(record?.stateVector)) return record.stateVector;
		// Saying "nothing saved" is safe: other devices then send everything again.
		this.onError(new StorageError(`the summary of ${topic} saved on this device could not be read; it is rebuilt when the topic is next saved`));
		return EMPTY_STATE_VECTOR.slice();
	}

	applyUpdate(topic: string, doc: Y.Doc, update: Uint8Array, origin: unknown): boolean {
		const binding = this.bindings.get(topic);
		if (binding?.doc !== doc) return applyChanging(doc, update, origin);
		// Before the stored state is loaded, changes wait (see `bind`).
		return applyUnheard(doc, update, origin, binding.listener, (saved) => (binding.loaded ? this.saveLater(binding, saved) : binding.pending.push(saved)));
	}

	async savedAsIs(topics: string[]): Promise<Map<string, Uint8Array[]>> {
		const wanted = topics.filter((topic) => !this.bindings.has(topic));
		const result = new Map<string, Uint8Array[]>();
		if (wanted.length === 0) return result;
		const db = await this.db();
		const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readonly');
		const snapshots = tx.objectStore(SNAPSHOTS);
		const index = tx.objectStore(UPDATES).index(BY_TOPIC);
		const read = wanted.map((topic) => ({
			topic,
			record: tx.objectStore(TOPICS).get(topic) as IDBRequest<Partial<TopicRecord> | undefined>,
			snapshot: snapshots.get(topic) as IDBRequest<unknown>,
			rows: index.getAll(topic) as IDBRequest<Partial<UpdateRow>[]>
		}));
		await completion(tx);
		for (const { topic, record, snapshot, rows } of read) {
			// Bound meanwhile, saved by a version that did not say, or holding what Yjs could not integrate: not as is.
			if (this.bindings.has(topic) || record.result?.integrated !== true) continue;
			const parts = [snapshot.result, ...rows.result.map((row) => row?.update)];
			const saved = parts.filter((part) => part !== undefined);
			if (saved.length === 0 || !saved.every(isBytes)) continue;
			result.set(topic, saved as Uint8Array[]);
		}
		return result;
	}

	async summaries(): Promise<Map<string, StoredTopic>> {
		const db = await this.db();
		const tx = db.transaction(TOPICS, 'readonly');
		const store = tx.objectStore(TOPICS);
		const [keys, records] = await Promise.all([request<string[]>(store.getAllKeys()), request<Partial<TopicRecord>[]>(store.getAll()), completion(tx)]);
		const summaries = new Map<string, StoredTopic>();
		for (const [i, topic] of keys.entries()) {
			const record = records[i];
			// A damaged summary says "nothing saved": other devices then send what it lacks again.
			if (!isBytes(record?.stateVector)) {
				this.onError(new StorageError(`the summary of ${topic} saved on this device could not be read; it is rebuilt when the topic is next saved`));
				continue;
			}
			summaries.set(topic, {
				stateVector: record.stateVector,
				deletions: isBytes(record.deletions) ? record.deletions : undefined,
				bytes: (Number(record.snapshotBytes) || 0) + (Number(record.updateBytes) || 0),
				description: record.description
			});
		}
		return summaries;
	}

	async sizes(): Promise<Map<string, number>> {
		const db = await this.db();
		const tx = db.transaction(TOPICS, 'readonly');
		const store = tx.objectStore(TOPICS);
		const [keys, records] = await Promise.all([request<string[]>(store.getAllKeys()), request<TopicRecord[]>(store.getAll()), completion(tx)]);
		// A damaged summary counts as nothing rather than failing the whole list.
		return new Map(keys.map((key, i) => [key, (Number(records[i]?.snapshotBytes) || 0) + (Number(records[i]?.updateBytes) || 0)]));
	}

	async delete(topic: string): Promise<void> {
		const binding = this.bindings.get(topic);
		if (binding) this.unbind(binding);
		await this.pumping;
		const db = await this.db();
		const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readwrite');
		tx.objectStore(SNAPSHOTS).delete(topic);
		tx.objectStore(TOPICS).delete(topic);
		const updates = tx.objectStore(UPDATES);
		const keys = updates.index(BY_TOPIC).getAllKeys(topic);
		keys.onsuccess = () => {
			for (const key of keys.result) updates.delete(key);
		};
		try {
			await completion(tx);
		} catch (cause) {
			throw new StorageError(`could not delete ${topic} from this device's storage`, { cause });
		}
	}

	async flush(): Promise<void> {
		if (this.dirty.size > 0) this.pump();
		while (this.pumping) await this.pumping;
		if (this.failure) throw this.failure;
	}

	async clear(): Promise<void> {
		for (const binding of [...this.bindings.values()]) this.unbind(binding);
		await this.pumping;
		const db = await this.db();
		const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readwrite');
		for (const name of [SNAPSHOTS, UPDATES, TOPICS]) tx.objectStore(name).clear();
		await completion(tx);
		this.failure = undefined;
	}

	async close(): Promise<void> {
		// A save that fails here has been reported to `onError`; closing goes on.
		await this.flush().catch(() => undefined);
		for (const binding of [...this.bindings.values()]) this.unbind(binding);
		const database = this.database;
		this.database = undefined;
		if (database) (await database.catch(() => undefined))?.close();
	}

	private unbind(binding: Binding): void {
		binding.doc.off('update', binding.listener);
		this.bindings.delete(binding.topic);
		this.dirty.delete(binding);
		binding.pending.length = 0;
	}

	private saveLater(binding: Binding, update?: Uint8Array): void {
		if (update) binding.pending.push(update);
		this.dirty.add(binding);
		this.pump();
	}

	/** Starts writing unless a write runs already (then the next round takes what waits). */
	private pump(): void {
		if (this.pumping) return;
		this.pumping = (async () => {
			// Let the rest of this task change the documents too: all of it goes in one write.
			await null;
			while (this.dirty.size > 0) {
				const work = [...this.dirty].map((binding) => ({ binding, updates: binding.pending.splice(0) }));
				this.dirty.clear();
				try {
					await this.write(work);
					this.failure = undefined;
				} catch (cause) {
					// Nothing of this write was saved: its changes wait for the next attempt.
					for (const { binding, updates } of work) {
						if (this.bindings.get(binding.topic) !== binding) continue;
						binding.pending.unshift(...updates);
						this.dirty.add(binding);
					}
					this.failure = isQuotaError(cause)
						? new StorageError('this device has no room left to save new messages; free some space and they are saved then (nothing saved before is lost)', { cause })
						: new StorageError("could not save changes to this device's storage; nothing saved before is lost", { cause });
					this.onError(this.failure);
					return;
				}
			}
		})().finally(() => {
			this.pumping = undefined;
		});
	}

	private shouldCompact(binding: Binding, rows: number, rowBytes: number): boolean {
		return rows > this.maxRows || rowBytes > binding.snapshotBytes;
	}

	private async write(work: { binding: Binding; updates: Uint8Array[] }[]): Promise<void> {
		const db = await this.db();
		// A topic deleted or unbound meanwhile is not saved again.
		const live = work.filter(({ binding }) => this.bindings.get(binding.topic) === binding);
		if (live.length === 0) return;
		const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readwrite');
		const done = completion(tx);
		const afterwards: (() => void)[] = [];
		try {
			const snapshots = tx.objectStore(SNAPSHOTS);
			const updates = tx.objectStore(UPDATES);
			const topics = tx.objectStore(TOPICS);
			for (const { binding, updates: changes } of live) {
				const rows = binding.rows.length + changes.length;
				const rowBytes = changes.reduce((sum, update) => sum + update.byteLength, binding.rowBytes);
				const { stateVector, deletions } = documentState(binding.doc);
				const description = binding.describe?.(binding.doc);
				const integrated = !hasPending(binding.doc);
				if (this.shouldCompact(binding, rows, rowBytes)) {
					// The document holds every row this store knows of, and every pending change. A topic
					// with nothing saved yet and one change (a peer's history arriving) has that change
					// as its whole state: it is the snapshot as it is, not encoded again.
					const first = binding.snapshotBytes === 0 && binding.rows.length === 0 && binding.damaged.length === 0 && changes.length === 1;
					const snapshot = first ? changes[0]! : Y.encodeStateAsUpdate(binding.doc);
					const gone = [...binding.rows, ...binding.damaged];
					snapshots.put(snapshot, binding.topic);
					for (const key of gone) updates.delete(key);
					topics.put({ stateVector, deletions, integrated, description, snapshotBytes: snapshot.byteLength, updateBytes: 0, updates: 0 } satisfies TopicRecord, binding.topic);
					afterwards.push(() => {
						binding.rows.length = 0;
						binding.damaged.length = 0;
						binding.rowBytes = 0;
						binding.snapshotBytes = snapshot.byteLength;
					});
				} else if (changes.length > 0) {
					const keys: number[] = [];
					for (const update of changes) {
						const added = updates.add({ topic: binding.topic, update } satisfies UpdateRow);
						added.onsuccess = () => keys.push(added.result as number);
					}
					topics.put({ stateVector, deletions, integrated, description, snapshotBytes: binding.snapshotBytes, updateBytes: rowBytes, updates: rows } satisfies TopicRecord, binding.topic);
					afterwards.push(() => {
						binding.rows.push(...keys);
						binding.rowBytes = rowBytes;
					});
				}
			}
		} catch (error) {
			// A request refused outright (a full disk can be reported this way): keep none of this write.
			abortQuietly(tx);
			await done.catch(() => undefined);
			throw error;
		}
		await done;
		for (const apply of afterwards) apply();
	}

	/** Topics bound in the same task are read together, in one transaction. */
	private read(topic: string): Promise<Loaded> {
		if (!this.reading) {
			const topics: string[] = [];
			const result = (async () => {
				await null;
				this.reading = undefined;
				return readTopics(await this.db(), topics);
			})();
			this.reading = { topics, result };
		}
		this.reading.topics.push(topic);
		return this.reading.result.then((loaded) => loaded.get(topic)!);
	}

	private db(): Promise<IDBDatabase> {
		if (this.database) return this.database;
		const opened: Promise<IDBDatabase> = openDocuments(this.name, this.options.legacyPrefix, this.onError, () => {
			// Deleted or upgraded elsewhere (logging out deletes every database): opened again when next used.
			if (this.database === opened) this.database = undefined;
		}).catch((cause: unknown) => {
			if (this.database === opened) this.database = undefined;
			throw new StorageError("could not open this device's storage", { cause });
		});
		this.database = opened;
		return this.database;
	}
}

interface Loaded {
	snapshot: unknown;
	keys: number[];
	rows: unknown[];
}

/**
 * Reads the snapshot and rows of each of `topics` in one transaction. When they are at least half
 * of what is stored (binding everything at start), four requests over whole stores beat three per
 * topic; otherwise each topic is read by key and by index.
 */
async function readTopics(db: IDBDatabase, topics: string[]): Promise<Map<string, Loaded>> {
	const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readonly');
	const snapshots = tx.objectStore(SNAPSHOTS);
	const updates = tx.objectStore(UPDATES);
	const loaded = new Map<string, Loaded>(topics.map((topic) => [topic, { snapshot: undefined, keys: [], rows: [] }]));
	// Requests are made in success callbacks, while the transaction is surely active.
	const counted = tx.objectStore(TOPICS).count();
	counted.onsuccess = () => {
		if (topics.length * 2 >= counted.result) {
			const snapshotKeys = snapshots.getAllKeys();
			const snapshotValues = snapshots.getAll();
			snapshotValues.onsuccess = () => {
				snapshotKeys.result.forEach((topic, i) => {
					const entry = loaded.get(topic as string);
					if (entry) entry.snapshot = snapshotValues.result[i];
				});
			};
			const rowKeys = updates.getAllKeys();
			const rowValues = updates.getAll();
			rowValues.onsuccess = () => {
				rowKeys.result.forEach((key, i) => {
					const row: unknown = rowValues.result[i];
					const entry = loaded.get((row as Partial<UpdateRow> | undefined)?.topic as string);
					entry?.keys.push(key as number);
					entry?.rows.push(row);
				});
			};
			return;
		}
		const index = updates.index(BY_TOPIC);
		for (const [topic, entry] of loaded) {
			const snapshot = snapshots.get(topic);
			snapshot.onsuccess = () => (entry.snapshot = snapshot.result);
			const keys = index.getAllKeys(topic);
			keys.onsuccess = () => (entry.keys = keys.result as number[]);
			const rows = index.getAll(topic);
			rows.onsuccess = () => (entry.rows = rows.result);
		}
	};
	await completion(tx);
	return loaded;
}

/** True for a Uint8Array from any realm (structured clone in a test runner may cross one). */
function isBytes(value: unknown): value is Uint8Array {
	return Object.prototype.toString.call(value) === '[object Uint8Array]';
}

/** Applies a stored update; false (and nothing thrown) if it is not one. */
function applySafely(doc: Y.Doc, update: unknown, origin: unknown): update is Uint8Array {
	if (!isBytes(update)) return false;
	try {
		Y.applyUpdate(doc, update as Uint8Array, origin);
		return true;
	} catch {
		// Reported by the caller, with every other part that was skipped.
		return false;
	}
}

function openDocuments(name: string, legacyPrefix: string | undefined, onError: StorageErrorHandler, onClosed: () => void): Promise<IDBDatabase> {
	return new Promise<IDBDatabase>((resolve, reject) => {
		const opening = indexedDB.open(name, SCHEMA_VERSION);
		opening.onupgradeneeded = () => {
			const db = opening.result;
			db.createObjectStore(SNAPSHOTS);
			db.createObjectStore(TOPICS);
			db.createObjectStore(UPDATES, { autoIncrement: true }).createIndex(BY_TOPIC, 'topic');
		};
		opening.onerror = () => reject(opening.error);
		opening.onsuccess = () => {
			const db = opening.result;
			// Deleting the database (logging out) must not wait for this page.
			db.onversionchange = () => {
				db.close();
				onClosed();
			};
			resolve(db);
		};
	}).then(async (db) => {
		if (legacyPrefix) await importLegacy(db, legacyPrefix, onError);
		return db;
	});
}

/**
 * Moves every document that y-indexeddb kept in a database of its own (`${prefix}${topic}`, store
 * `updates` of Yjs updates) into `db` as one snapshot, then deletes that database.
 */
async function importLegacy(db: IDBDatabase, prefix: string, onError: StorageErrorHandler): Promise<void> {
	const names = ((await indexedDB.databases?.()) ?? []).map((database) => database.name).filter((name): name is string => !!name?.startsWith(prefix));
	for (const name of names) {
		const topic = name.slice(prefix.length);
		try {
			const legacy = await idb.openDB(name, () => undefined);
			const doc = new Y.Doc({ gc: false });
			if (legacy.objectStoreNames.contains(UPDATES)) {
				const [store] = idb.transact(legacy, [UPDATES], 'readonly');
				const updates = (await idb.getAll(store!)) as unknown[];
				Y.transact(doc, () => {
					for (const update of updates) applySafely(doc, update, null);
				});
			}
			legacy.close();
			if (doc.store.clients.size > 0) {
				const tx = db.transaction([SNAPSHOTS, UPDATES, TOPICS], 'readwrite');
				const existing = tx.objectStore(SNAPSHOTS).get(topic);
				existing.onsuccess = () => {
					applySafely(doc, existing.result, null);
					const state = Y.encodeStateAsUpdate(doc);
					tx.objectStore(SNAPSHOTS).put(state, topic);
					tx.objectStore(TOPICS).put({ ...documentState(doc), snapshotBytes: state.byteLength, updateBytes: 0, updates: 0 } satisfies TopicRecord, topic);
				};
				await completion(tx);
			}
			await idb.deleteDB(name);
		} catch (cause) {
			onError(new StorageError(`could not move ${topic} to the new storage format; it stays where it was`, { cause }));
		}
	}
}

function request<T = unknown>(req: IDBRequest): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		req.onsuccess = () => resolve(req.result as T);
		req.onerror = () => reject(req.error);
	});
}

/** Aborts `tx` unless it has finished already (then there is nothing left to undo). */
function abortQuietly(tx: IDBTransaction): void {
	try {
		tx.abort();
	} catch (error) {
		if ((error as { name?: string }).name !== 'InvalidStateError') throw error;
	}
}

function completion(tx: IDBTransaction): Promise<void> {
	return new Promise<void>((resolve, reject) => {
		tx.oncomplete = () => resolve();
		tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
	});
}

const RECORDS = 'records';

export class IndexedDbKeyValueStore implements KeyValueStore {
	private database?: Promise<IDBDatabase>;

	constructor(private readonly name = 'samen-records') {}

	private db(): Promise<IDBDatabase> {
		this.database ??= idb.openDB(this.name, (db) => idb.createStores(db, [[RECORDS]]));
		return this.database;
	}

	private async store(): Promise<IDBObjectStore> {
		const [store] = idb.transact(await this.db(), [RECORDS]);
		return store!;
	}

	async get<T>(key: string): Promise<T | undefined> {
		const value = await idb.get(await this.store(), key);
		return value === undefined ? undefined : (JSON.parse(value as string) as T);
	}

	async set<T>(key: string, value: T): Promise<void> {
		try {
			await idb.put(await this.store(), JSON.stringify(value), key);
		} catch (cause) {
			throw new StorageError('this device has no room left to save data', { cause });
		}
	}

	async delete(key: string): Promise<void> {
		await idb.del(await this.store(), key);
	}

	async clear(): Promise<void> {
		const store = await this.store();
		await idb.rtop(store.clear());
	}
}
