// What the conformance suite cannot see of the IndexedDB document store: its one database, its
// rows and compaction, batching, a full disk, damaged rows, and the move from y-indexeddb.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { StorageError } from '../../src/lib/storage/errors';
import { IndexedDbDocumentStore, MAX_UPDATE_ROWS } from '../../src/lib/storage/indexeddb';

let databases = 0;
const fresh = () => `storage-test-${++databases}`;

function requestOf<T>(request: IDBRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		request.onsuccess = () => resolve(request.result);
		request.onerror = () => reject(request.error);
	});
}

async function raw(name: string): Promise<IDBDatabase> {
	return requestOf(indexedDB.open(name));
}

/** The update rows saved for `topic`, read past the store. */
async function rowsOf(name: string, topic: string): Promise<unknown[]> {
	const db = await raw(name);
	const rows = await requestOf(db.transaction('updates', 'readonly').objectStore('updates').index('topic').getAll(topic));
	db.close();
	return rows;
}

async function addRaw(name: string, store: string, value: unknown, key?: IDBValidKey): Promise<void> {
	const db = await raw(name);
	await requestOf(db.transaction(store, 'readwrite').objectStore(store).put(value, key));
	db.close();
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe('IndexedDB document store', () => {
	it('keeps every topic in one database, and opening a topic writes nothing', async () => {
		const name = fresh();
		const before = (await indexedDB.databases()).length;
		const store = new IndexedDbDocumentStore(name);
		for (let i = 0; i < 50; i++) {
			const doc = new Y.Doc();
			await store.bind(`chat/${i}/2026-11`, doc);
			doc.getMap('messages').set('m', i);
		}
		await store.close();
		expect((await indexedDB.databases()).length).toBe(before + 1);

		const writes = vi.spyOn(IDBDatabase.prototype, 'transaction');
		const reopened = new IndexedDbDocumentStore(name);
		for (let i = 0; i < 50; i++) await reopened.bind(`chat/${i}/2026-11`, new Y.Doc());
		await reopened.close();
		expect(writes.mock.calls.filter(([, mode]) => mode === 'readwrite')).toHaveLength(0);
	});

	it('reads topics bound together in one transaction, each with what is its own', async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const topics = Array.from({ length: 20 }, (_, i) => `chat/${i}/2026-11`);
		const docs = topics.map(() => new Y.Doc());
		await Promise.all(topics.map((topic, i) => store.bind(topic, docs[i]!)));
		docs.forEach((doc, i) => doc.getMap('m').set('i', i));
		await store.close();

		const reads = vi.spyOn(IDBDatabase.prototype, 'transaction');
		const reopened = new IndexedDbDocumentStore(name);
		const reloaded = topics.map(() => new Y.Doc());
		await Promise.all(topics.map((topic, i) => reopened.bind(topic, reloaded[i]!)));
		expect(reads).toHaveBeenCalledTimes(1);
		expect(reloaded.map((doc) => doc.getMap('m').get('i'))).toEqual(topics.map((_, i) => i));
		await reopened.close();

		// A few of many: read by topic rather than over every stored document.
		const few = new IndexedDbDocumentStore(name);
		const some = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
		await Promise.all([3, 7, 19].map((i, n) => few.bind(topics[i]!, some[n]!)));
		expect(some.map((doc) => doc.getMap('m').toJSON())).toEqual([{ i: 3 }, { i: 7 }, { i: 19 }]);
		await few.close();
	});

	it('saves many changes of one task in one write', async () => {
		const store = new IndexedDbDocumentStore(fresh());
		const docs = [new Y.Doc(), new Y.Doc()];
		await store.bind('a', docs[0]!);
		await store.bind('b', docs[1]!);
		const writes = vi.spyOn(IDBDatabase.prototype, 'transaction');
		for (let i = 0; i < 300; i++) docs[i % 2]!.getMap('m').set(`k${i}`, i);
		await store.flush();
		expect(writes.mock.calls.filter(([, mode]) => mode === 'readwrite')).toHaveLength(1);
		await store.close();
	});

	it(`compacts a topic past ${MAX_UPDATE_ROWS} rows, and loses no change made during compaction`, async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getText('t').insert(0, 'x'.repeat(50_000)); // a snapshot that outweighs the small rows
		await store.flush();
		for (let i = 0; i < MAX_UPDATE_ROWS; i++) {
			doc.getMap('m').set(`k${i}`, i);
			await store.flush();
		}
		expect(await rowsOf(name, 'chat')).toHaveLength(MAX_UPDATE_ROWS);

		// This change starts the compaction; the next one arrives while it is being written.
		doc.getMap('m').set('compacting', true);
		const compaction = store.flush();
		await Promise.resolve();
		await Promise.resolve();
		doc.getMap('m').set('during', true);
		await compaction;
		await store.flush();
		expect((await rowsOf(name, 'chat')).length).toBeLessThanOrEqual(1);
		await store.close();

		const reloaded = new Y.Doc();
		const reopened = new IndexedDbDocumentStore(name);
		await reopened.bind('chat', reloaded);
		expect(reloaded.getMap('m').size).toBe(MAX_UPDATE_ROWS + 2);
		expect(reloaded.getMap('m').get('during')).toBe(true);
		expect(reloaded.getText('t').length).toBe(50_000);
		await reopened.close();
	});

	it('compacts when the rows outweigh the snapshot', async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getMap('m').set('first', 1);
		await store.flush();
		for (let i = 0; i < 20; i++) {
			doc.getMap('m').set(`k${i}`, 'some text '.repeat(20));
			await store.flush();
		}
		const rows = await rowsOf(name, 'chat');
		expect(rows.length).toBeLessThan(20);
		const rowBytes = rows.reduce<number>((sum, row) => sum + (row as { update: Uint8Array }).update.byteLength, 0);
		expect(rowBytes).toBeLessThanOrEqual((await store.sizes()).get('chat')! - rowBytes);
		await store.close();
	});

	it('reports a full disk as a StorageError, keeps what was saved, and saves the change once there is room', async () => {
		const name = fresh();
		const errors: StorageError[] = [];
		const store = new IndexedDbDocumentStore(name, { onError: (error) => errors.push(error) });
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getMap('m').set('saved', 1);
		await store.flush();

		const full = () => {
			throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
		};
		const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(full);
		const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(full);
		doc.getMap('m').set('waits', 2);
		const failed = await store.flush().then(
			() => undefined,
			(error: unknown) => error
		);
		expect(failed).toBeInstanceOf(StorageError);
		expect((failed as StorageError).message).toMatch(/no room left/);
		expect(errors.map((error) => error.message)).toEqual([(failed as StorageError).message]);

		// What was saved before is all there, after a restart too.
		const other = new Y.Doc();
		const restarted = new IndexedDbDocumentStore(name);
		await restarted.bind('chat', other);
		expect(other.getMap('m').toJSON()).toEqual({ saved: 1 });
		await restarted.close();

		add.mockRestore();
		put.mockRestore();
		await store.flush();
		await store.close();
		const reloaded = new Y.Doc();
		const reopened = new IndexedDbDocumentStore(name);
		await reopened.bind('chat', reloaded);
		expect(reloaded.getMap('m').toJSON()).toEqual({ saved: 1, waits: 2 });
		await reopened.close();
	});

	it('reports a write the database aborts, and keeps the change for the next save', async () => {
		const name = fresh();
		const errors: StorageError[] = [];
		const store = new IndexedDbDocumentStore(name, { onError: (error) => errors.push(error) });
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		const original = IDBObjectStore.prototype.add;
		const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (this: IDBObjectStore, ...args) {
			const request = original.apply(this, args);
			this.transaction.abort();
			return request;
		});
		doc.getMap('m').set('big', 'x'.repeat(1000));
		await store.flush(); // the first change becomes the snapshot: no row added
		doc.getMap('m').set('k', 1);
		await expect(store.flush()).rejects.toThrow(/could not save/);
		expect(errors).toHaveLength(1);
		add.mockRestore();
		doc.getMap('m').set('k2', 2);
		await store.flush();
		await store.close();
		const reloaded = new Y.Doc();
		const reopened = new IndexedDbDocumentStore(name);
		await reopened.bind('chat', reloaded);
		expect(Object.keys(reloaded.getMap('m').toJSON()).sort()).toEqual(['big', 'k', 'k2']);
		await reopened.close();
	});

	it('skips a damaged row or snapshot, says which, and loads the rest', async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getMap('m').set('first', 'x'.repeat(500));
		await store.flush();
		doc.getMap('m').set('second', 2);
		await store.close();
		await addRaw(name, 'updates', { topic: 'chat', update: new Uint8Array([255, 255, 255, 255, 255, 1, 2, 3]) });
		await addRaw(name, 'updates', { topic: 'chat', update: 'not bytes' });
		await addRaw(name, 'updates', 42);
		await addRaw(name, 'snapshots', 'not a snapshot', 'other');

		const errors: StorageError[] = [];
		const reopened = new IndexedDbDocumentStore(name, { onError: (error) => errors.push(error) });
		const reloaded = new Y.Doc();
		await reopened.bind('chat', reloaded);
		expect(reloaded.getMap('m').toJSON()).toEqual({ first: 'x'.repeat(500), second: 2 });
		const other = new Y.Doc();
		await reopened.bind('other', other);
		expect(other.getMap('m').toJSON()).toEqual({});
		expect(errors.map((error) => error.message)).toEqual([
			expect.stringMatching(/^part of chat .* could not be read and was skipped \(change \d+, change \d+\)/),
			expect.stringMatching(/^part of other .* \(its snapshot\)/)
		]);
		// The next compaction removes the damaged rows.
		for (let i = 0; i < MAX_UPDATE_ROWS + 1; i++) reloaded.getMap('m').set(`k${i}`, i);
		other.getMap('m').set('k', 1);
		await reopened.close();
		expect(await rowsOf(name, 'chat')).toEqual([]);
		const again = new IndexedDbDocumentStore(name, { onError: (error) => errors.push(error) });
		await again.bind('chat', new Y.Doc());
		await again.bind('other', new Y.Doc());
		await again.close();
		expect(errors).toHaveLength(2);
	});

	it('answers for a damaged topic summary without failing: nothing saved, and says so', async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getMap('m').set('k', 1);
		await store.close();
		await addRaw(name, 'topics', { stateVector: 'garbage', snapshotBytes: 'many' }, 'chat');

		const errors: StorageError[] = [];
		const reopened = new IndexedDbDocumentStore(name, { onError: (error) => errors.push(error) });
		expect(await reopened.stateVector('chat')).toEqual(Y.encodeStateVector(new Y.Doc()));
		expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/summary of chat .* could not be read/)]);
		expect(await reopened.sizes()).toEqual(new Map([['chat', 0]]));
		// The next save writes a good summary.
		const reloaded = new Y.Doc();
		await reopened.bind('chat', reloaded);
		reloaded.getMap('m').set('k2', 2);
		await reopened.flush();
		expect(await reopened.stateVector('chat')).toEqual(Y.encodeStateVector(reloaded));
		await reopened.close();
	});

	it('lets the database be deleted while open (logging out), and saves again afterwards', async () => {
		const name = fresh();
		const store = new IndexedDbDocumentStore(name);
		const doc = new Y.Doc();
		await store.bind('chat', doc);
		doc.getMap('m').set('before', 1);
		await store.flush();
		await new Promise<void>((resolve, reject) => {
			const deleting = indexedDB.deleteDatabase(name);
			deleting.onsuccess = () => resolve();
			deleting.onerror = () => reject(deleting.error);
		});
		expect(await store.topics()).toEqual([]);
		const next = new Y.Doc();
		await store.bind('next', next);
		next.getMap('m').set('after', 2);
		await store.close();
		expect(await new IndexedDbDocumentStore(name).topics()).toEqual(['next']);
	});

	it('moves documents that y-indexeddb kept, one database per topic, into its own', async () => {
		const name = fresh();
		const legacyPrefix = `${name}-legacy:`;
		const doc = new Y.Doc();
		doc.getMap('messages').set('m1', { text: 'from before' });
		const later = Y.encodeStateAsUpdate(doc);
		doc.getMap('messages').set('m2', { text: 'and after' });
		const legacy = await new Promise<IDBDatabase>((resolve, reject) => {
			const opening = indexedDB.open(`${legacyPrefix}chat/1/2026-11`);
			opening.onupgradeneeded = () => {
				opening.result.createObjectStore('updates', { autoIncrement: true });
				opening.result.createObjectStore('custom');
			};
			opening.onsuccess = () => resolve(opening.result);
			opening.onerror = () => reject(opening.error);
		});
		const updates = legacy.transaction('updates', 'readwrite').objectStore('updates');
		updates.add(later);
		await requestOf(updates.add(Y.encodeStateAsUpdate(doc, Y.encodeStateVectorFromUpdate(later))));
		legacy.close();

		const store = new IndexedDbDocumentStore(name, { legacyPrefix });
		expect(await store.topics()).toEqual(['chat/1/2026-11']);
		const reloaded = new Y.Doc();
		await store.bind('chat/1/2026-11', reloaded);
		expect(reloaded.getMap('messages').toJSON()).toEqual(doc.getMap('messages').toJSON());
		await store.close();
		expect((await indexedDB.databases()).map((database) => database.name)).not.toContain(`${legacyPrefix}chat/1/2026-11`);
	});
});
