/**
 * Storage as the core sees it. Adapters: IndexedDB in the browser (and in Node over
 * fake-indexeddb), plain memory for tests.
 */
import * as Y from 'yjs';

/** What a store keeps of a saved topic beside its document, read without loading it. */
export interface StoredTopic {
	/** The state vector of what is saved. */
	stateVector: Uint8Array;
	/** The digest of what is saved's deletions (./state.ts); absent when a record predates it. */
	deletions?: Uint8Array;
	/** Bytes saved. */
	bytes: number;
	/** What `describe` (given to `bind`) made of the document as saved; undefined without one. */
	description?: unknown;
}

export interface DocumentStore {
	/**
	 * Loads what is saved for `topic` into `doc`, then saves every later change until `close`. With
	 * every save the store keeps `describe(doc)` (plain data) beside the document, for `summaries`.
	 */
	bind(topic: string, doc: Y.Doc, describe?: (doc: Y.Doc) => unknown): Promise<void>;
	/**
	 * Applies `update` to `doc`, bound to `topic`, with `origin`, and saves it as it came: Yjs does
	 * not encode the change again for the store (with no other 'update' listener on `doc`, applying a
	 * peer's large update costs one decoding). True when the document changed. Throws what
	 * `Y.applyUpdate` throws.
	 */
	applyUpdate(topic: string, doc: Y.Doc, update: Uint8Array, origin: unknown): boolean;
	/**
	 * For each of `topics` that is not bound to an open document here and whose saved state holds
	 * nothing Yjs could not integrate: what is saved, as it was saved (snapshot first, then changes
	 * in order), in one read, without loading a document. Applied in turn to an empty document it
	 * gives the document. Other topics are absent.
	 */
	savedAsIs(topics: string[]): Promise<Map<string, Uint8Array[]>>;
	/** Every topic that has something saved, with its state and description, in one read. */
	summaries(): Promise<Map<string, StoredTopic>>;
	/** The topics that have something saved, without loading them. */
	topics(): Promise<string[]>;
	/** The state vector of what is saved for `topic` (empty if nothing is), without loading it. */
	stateVector(topic: string): Promise<Uint8Array>;
	/** Bytes saved per topic (topics with nothing saved are absent). */
	sizes(): Promise<Map<string, number>>;
	/** Forgets what is saved for `topic`; a document bound to it is no longer saved. */
	delete(topic: string): Promise<void>;
	/** Resolves once every change made so far is saved; rejects with a StorageError if saving failed. */
	flush(): Promise<void>;
	/** Deletes every saved document. */
	clear(): Promise<void>;
	/** Saves what is pending and stops saving (a failure goes to the store's error handler, not here). */
	close(): Promise<void>;
}

/** Small records: the device's own identity and the account's keys. Values are JSON. */
export interface KeyValueStore {
	get<T>(key: string): Promise<T | undefined>;
	set<T>(key: string, value: T): Promise<void>;
	delete(key: string): Promise<void>;
	clear(): Promise<void>;
}

/**
 * Applies `update` to `doc` with `origin`; true when it changed the document. Should Yjs throw
 * part-way, `onChange` has said whether it changed it before the error goes on.
 */
export function applyChanging(doc: Y.Doc, update: Uint8Array, origin: unknown, onChange?: (changed: boolean) => void): boolean {
	let changed = false;
	const observe = (transaction: Y.Transaction) => {
		changed ||= transaction.deleteSet.clients.size > 0 || transaction.afterState.size !== transaction.beforeState.size || [...transaction.afterState].some(([client, clock]) => transaction.beforeState.get(client) !== clock);
		onChange?.(changed);
	};
	doc.on('afterTransaction', observe);
	try {
		Y.applyUpdate(doc, update, origin);
	} finally {
		doc.off('afterTransaction', observe);
	}
	return changed;
}

/**
 * Applies a peer's update to a document a store keeps, with the store's own 'update' `listener` off
 * (Yjs then encodes no update of its own, which the store would only save again), and hands `save`
 * what to keep: the update as it came or, when Yjs refused part of it, the document's whole state.
 * True when the document changed.
 */
export function applyUnheard(
	doc: Y.Doc,
	update: Uint8Array,
	origin: unknown,
	listener: (update: Uint8Array, origin: unknown) => void,
	save: (saved: Uint8Array) => void
): boolean {
	doc.off('update', listener);
	let changed = false;
	let applied = false;
	try {
		changed = applyChanging(doc, update, origin, (value) => (changed = value));
		applied = true;
	} finally {
		doc.on('update', listener);
		if (changed) save(applied ? update : Y.encodeStateAsUpdate(doc));
	}
	return changed;
}

/** Whether Yjs holds changes of `doc` it could not integrate yet (their dependencies missing). */
export function hasPending(doc: Y.Doc): boolean {
	const store = doc.store as unknown as { pendingStructs: unknown; pendingDs: unknown };
	return !!store.pendingStructs || !!store.pendingDs;
}
