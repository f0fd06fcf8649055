/**
 * Storage as the core sees it. Adapters: y-indexeddb and IndexedDB in the browser (and in Node
 * over fake-indexeddb), plain memory for tests.
 */
import type * as Y from 'yjs';

export interface DocumentStore {
	/** Loads what is saved for `topic` into `doc`, then saves every later change until `close`. */
	bind(topic: string, doc: Y.Doc): Promise<void>;
	/** Deletes every saved document. */
	clear(): Promise<void>;
	close(): Promise<void>;
}

/** Small records: the device's own identity and the account's keys. Values are JSON. */
export interface KeyValueStore {
	get<T>(key: string): Promise<T | undefined>;
	set<T>(key: string, value: T): Promise<void>;
	delete(key: string): Promise<void>;
	clear(): Promise<void>;
}
