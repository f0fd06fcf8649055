/**
 * IndexedDB adapters: y-indexeddb keeps each topic's document in a database of its own, named
 * `${prefix}${topic}`; small records live in one database `${prefix}records`.
 */
import * as idb from 'lib0/indexeddb';
import { IndexeddbPersistence } from 'y-indexeddb';
import type * as Y from 'yjs';
import type { DocumentStore, KeyValueStore } from './types';

export class StorageError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'StorageError';
	}
}

export class IndexedDbDocumentStore implements DocumentStore {
	private readonly persistences: IndexeddbPersistence[] = [];

	constructor(private readonly prefix = 'samen-doc:') {}

	async bind(topic: string, doc: Y.Doc): Promise<void> {
		const persistence = new IndexeddbPersistence(this.prefix + topic, doc);
		this.persistences.push(persistence);
		try {
			await persistence.whenSynced;
		} catch (cause) {
			throw new StorageError(`could not load ${topic} from this device's storage`, { cause });
		}
	}

	async clear(): Promise<void> {
		await this.close();
		const databases = await indexedDB.databases();
		await Promise.all(
			databases
				.map((database) => database.name)
				.filter((name): name is string => !!name?.startsWith(this.prefix))
				.map((name) => idb.deleteDB(name))
		);
	}

	async close(): Promise<void> {
		await Promise.all(this.persistences.splice(0).map((persistence) => persistence.destroy()));
	}
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
