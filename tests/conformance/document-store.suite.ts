/**
 * One conformance suite for device storage (src/lib/storage/types.ts), run against every adapter:
 * `DocumentStore` for the Yjs documents and `KeyValueStore` for the small records.
 *
 * An adapter gives `setup()`: for one device that no other test uses, a way to open its stores.
 * Each call of `documents()` or `records()` stands for the device starting again: it returns the
 * store as a restarted app would get it (the same memory store, or a new IndexedDB store object of
 * the same name), so "saved" means "there after a restart".
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DELETIONS_DIGEST_BYTES, documentState } from '../../src/lib/storage/state';
import { hasPending, type DocumentStore, type KeyValueStore } from '../../src/lib/storage/types';

export interface StorageHarness {
	documents(): DocumentStore;
	records(): KeyValueStore;
	teardown?(): unknown;
}

export type StorageSetup = () => Promise<StorageHarness>;

export function runDocumentStoreConformance(name: string, setup: StorageSetup): void {
	describe(`Storage conformance: ${name}`, () => {
		const teardowns: (() => unknown)[] = [];
		afterEach(async () => {
			for (const teardown of teardowns.splice(0).reverse()) await teardown();
		});

		async function device(): Promise<StorageHarness> {
			const harness = await setup();
			teardowns.push(() => harness.teardown?.());
			return harness;
		}

		/** Starts the device, binds `topics` into fresh documents, runs `work`, and closes. */
		async function session(harness: StorageHarness, topics: string[], work: (docs: Y.Doc[]) => void = () => {}): Promise<Y.Doc[]> {
			const store = harness.documents();
			const docs = topics.map(() => new Y.Doc());
			for (const [i, topic] of topics.entries()) await store.bind(topic, docs[i]!);
			work(docs);
			await store.close();
			return docs;
		}

		describe('documents', () => {
			it('keeps a change to a bound document across a restart', async () => {
				const harness = await device();
				await session(harness, ['chat'], ([doc]) => {
					doc!.getMap('messages').set('m1', { text: 'hello', at: 1 });
					doc!.getText('draft').insert(0, 'half a thought');
				});
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('messages').toJSON()).toEqual({ m1: { text: 'hello', at: 1 } });
				expect(reloaded!.getText('draft').toString()).toBe('half a thought');
			});

			it('keeps saving a document that was loaded from storage', async () => {
				const harness = await device();
				await session(harness, ['chat'], ([doc]) => doc!.getMap('messages').set('first', 1));
				await session(harness, ['chat'], ([doc]) => doc!.getMap('messages').set('second', 2));
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('messages').toJSON()).toEqual({ first: 1, second: 2 });
			});

			it('keeps two topics apart, and loads a topic never written as empty', async () => {
				const harness = await device();
				await session(harness, ['alpha', 'beta'], ([alpha, beta]) => {
					alpha!.getMap('m').set('only-in', 'alpha');
					beta!.getMap('m').set('only-in', 'beta');
				});
				const [alpha, beta, gamma] = await session(harness, ['alpha', 'beta', 'gamma']);
				expect(alpha!.getMap('m').toJSON()).toEqual({ 'only-in': 'alpha' });
				expect(beta!.getMap('m').toJSON()).toEqual({ 'only-in': 'beta' });
				expect(gamma!.getMap('m').toJSON()).toEqual({});
			});

			it('forgets every saved document on clear()', async () => {
				const harness = await device();
				await session(harness, ['alpha', 'beta'], ([alpha, beta]) => {
					alpha!.getMap('m').set('k', 'a');
					beta!.getMap('m').set('k', 'b');
				});
				await harness.documents().clear();
				const [alpha, beta] = await session(harness, ['alpha', 'beta']);
				expect(alpha!.getMap('m').toJSON()).toEqual({});
				expect(beta!.getMap('m').toJSON()).toEqual({});
			});

			it('saves again after clear()', async () => {
				const harness = await device();
				await session(harness, ['chat'], ([doc]) => doc!.getMap('m').set('old', true));
				await harness.documents().clear();
				await session(harness, ['chat'], ([doc]) => doc!.getMap('m').set('new', true));
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('m').toJSON()).toEqual({ new: true });
			});

			it('reloads 500 small changes, each its own update, to the same state', async () => {
				const harness = await device();
				const [original] = await session(harness, ['chat'], ([doc]) => {
					const messages = doc!.getMap('messages');
					for (let i = 0; i < 500; i++) messages.set(`m${i}`, `message ${i}`);
				});
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('messages').size).toBe(500);
				expect(reloaded!.getMap('messages').toJSON()).toEqual(original!.getMap('messages').toJSON());
				expect(Y.encodeStateVector(reloaded!)).toEqual(Y.encodeStateVector(original!));
			});
		});

		describe('what is saved, without loading it', () => {
			it('lists the topics that have something saved, and only those', async () => {
				const harness = await device();
				expect(await harness.documents().topics()).toEqual([]);
				await session(harness, ['alpha', 'beta', 'never-written'], ([alpha, beta]) => {
					alpha!.getMap('m').set('k', 1);
					beta!.getMap('m').set('k', 2);
				});
				expect((await harness.documents().topics()).sort()).toEqual(['alpha', 'beta']);
			});

			it('gives the state vector of what is saved, and an empty one for a topic never saved', async () => {
				const harness = await device();
				const [first] = await session(harness, ['chat'], ([doc]) => doc!.getMap('m').set('a', 1));
				expect(await harness.documents().stateVector('chat')).toEqual(Y.encodeStateVector(first!));
				const [second] = await session(harness, ['chat'], ([doc]) => {
					for (let i = 0; i < 300; i++) doc!.getMap('m').set(`b${i}`, i);
				});
				expect(await harness.documents().stateVector('chat')).toEqual(Y.encodeStateVector(second!));
				expect(await harness.documents().stateVector('never-written')).toEqual(Y.encodeStateVector(new Y.Doc()));
			});

			it('summarises every saved topic in one read: its state, a digest that moves with a deletion alone, its bytes, and its description', async () => {
				const harness = await device();
				const count = (doc: Y.Doc) => ({ entries: doc.getMap('m').size });
				const bindDescribed = async (work: (doc: Y.Doc) => void) => {
					const store = harness.documents();
					const doc = new Y.Doc({ gc: false });
					await store.bind('chat', doc, count);
					await store.bind('plain', new Y.Doc());
					work(doc);
					await store.close();
					return doc;
				};
				const first = await bindDescribed((doc) => {
					doc.getMap('m').set('a', 1);
					doc.getMap('m').set('b', 2);
				});
				const before = await harness.documents().summaries();
				// A topic bound but never changed has nothing saved.
				expect([...before.keys()]).toEqual(['chat']);
				expect(before.get('chat')!.stateVector).toEqual(Y.encodeStateVector(first));
				expect(before.get('chat')!.description).toEqual({ entries: 2 });
				expect(before.get('chat')!.bytes).toBe((await harness.documents().sizes()).get('chat'));
				const second = await bindDescribed((doc) => doc.getMap('m').delete('a'));
				const after = (await harness.documents().summaries()).get('chat')!;
				// The deletion added no struct: the state vector stands, the digest and the description move.
				expect(after.stateVector).toEqual(before.get('chat')!.stateVector);
				expect(after.deletions).not.toEqual(before.get('chat')!.deletions);
				expect(after.description).toEqual({ entries: 1 });
				// Another document with the same content and deletions has the same digest.
				const copy = new Y.Doc({ gc: false });
				Y.applyUpdate(copy, Y.encodeStateAsUpdate(second));
				expect(after.deletions).toEqual(documentState(copy).deletions);
				expect(after.deletions!.length).toBe(DELETIONS_DIGEST_BYTES);
			});

			it('applies a peer’s update through the store, saves it, and says whether it changed anything', async () => {
				const harness = await device();
				const theirs = new Y.Doc();
				for (let i = 0; i < 50; i++) theirs.getMap('messages').set(`m${i}`, { text: `message ${i}` });
				const update = Y.encodeStateAsUpdate(theirs);
				const store = harness.documents();
				const doc = new Y.Doc();
				await store.bind('chat', doc);
				expect(store.applyUpdate('chat', doc, update, 'peer')).toBe(true);
				expect(store.applyUpdate('chat', doc, update, 'peer')).toBe(false);
				await store.flush();
				// Saved as it came, once.
				expect((await store.sizes()).get('chat')).toBe(update.byteLength);
				doc.getMap('messages').set('mine', { text: 'written here' });
				await store.close();
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('messages').size).toBe(51);
				expect((await harness.documents().summaries()).get('chat')!.stateVector).toEqual(Y.encodeStateVector(reloaded!));
			});

			it('gives what is saved as it was saved, for topics not bound and holding nothing Yjs could not integrate', async () => {
				const harness = await device();
				// A change whose dependency never arrived: Yjs keeps it pending.
				const source = new Y.Doc();
				source.getMap('m').set('first', 1);
				const before = Y.encodeStateVector(source);
				source.getMap('m').set('second', 2);
				const dangling = Y.encodeStateAsUpdate(source, before);
				const store = harness.documents();
				const [whole, partial, open] = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
				await store.bind('whole', whole);
				await store.bind('partial', partial);
				await store.bind('open', open);
				whole.getMap('m').set('a', 1);
				whole.getMap('m').set('b', 2);
				partial.getMap('m').set('a', 1);
				store.applyUpdate('partial', partial, dangling, 'peer');
				open.getMap('m').set('a', 1);
				await store.close();
				const again = harness.documents();
				await again.bind('open', new Y.Doc());
				const saved = await again.savedAsIs(['whole', 'partial', 'open', 'never']);
				// Not what is open here, nor what was never saved.
				expect(saved.has('whole')).toBe(true);
				expect(saved.has('open') || saved.has('never')).toBe(false);
				const rebuild = (updates: Uint8Array[]) => {
					const doc = new Y.Doc();
					for (const update of updates) Y.applyUpdate(doc, update);
					return doc;
				};
				expect(rebuild(saved.get('whole')!).getMap('m').toJSON()).toEqual({ a: 1, b: 2 });
				// Whatever is given as saved holds nothing pending (a store that kept the pending change gives none).
				for (const updates of saved.values()) expect(hasPending(rebuild(updates))).toBe(false);
				await again.close();
			});

			it('counts the bytes saved per topic, more for a bigger document', async () => {
				const harness = await device();
				await session(harness, ['small', 'big'], ([small, big]) => {
					small!.getMap('m').set('k', 'x');
					for (let i = 0; i < 200; i++) big!.getMap('m').set(`k${i}`, 'a message of some length '.repeat(4));
				});
				const sizes = await harness.documents().sizes();
				expect([...sizes.keys()].sort()).toEqual(['big', 'small']);
				expect(sizes.get('small')).toBeGreaterThan(0);
				expect(sizes.get('big')).toBeGreaterThan(200 * 100);
				expect(sizes.get('big')).toBeGreaterThan(sizes.get('small')!);
			});

			it('saves every change once flush() resolves, before close', async () => {
				const harness = await device();
				const store = harness.documents();
				const doc = new Y.Doc();
				await store.bind('chat', doc);
				doc.getMap('m').set('k', 'v');
				await store.flush();
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('m').toJSON()).toEqual({ k: 'v' });
				await store.close();
			});
		});

		describe('documents, more', () => {
			it('deletes one topic and keeps the others; a document bound to it is no longer saved', async () => {
				const harness = await device();
				await session(harness, ['old', 'new'], ([old, recent]) => {
					old!.getMap('m').set('k', 'old');
					recent!.getMap('m').set('k', 'new');
				});
				const store = harness.documents();
				const old = new Y.Doc();
				await store.bind('old', old);
				await store.delete('old');
				old.getMap('m').set('after', 'delete');
				await store.close();
				expect(await harness.documents().topics()).toEqual(['new']);
				expect((await harness.documents().sizes()).has('old')).toBe(false);
				const [reloadedOld, reloadedNew] = await session(harness, ['old', 'new']);
				expect(reloadedOld!.getMap('m').toJSON()).toEqual({});
				expect(reloadedNew!.getMap('m').toJSON()).toEqual({ k: 'new' });
				await harness.documents().delete('never-written');
			});

			it('forgets every topic on clear(), for topics() and sizes() too', async () => {
				const harness = await device();
				await session(harness, ['alpha', 'beta'], ([alpha, beta]) => {
					alpha!.getMap('m').set('k', 'a');
					beta!.getMap('m').set('k', 'b');
				});
				await harness.documents().clear();
				expect(await harness.documents().topics()).toEqual([]);
				expect((await harness.documents().sizes()).size).toBe(0);
			});

			it('saves what a document held before it was bound, and changes made while it loads', async () => {
				const harness = await device();
				await session(harness, ['chat'], ([doc]) => doc!.getMap('m').set('stored', 1));
				const store = harness.documents();
				const doc = new Y.Doc();
				doc.getMap('m').set('before', 2);
				const binding = store.bind('chat', doc);
				doc.getMap('m').set('while-loading', 3);
				await binding;
				doc.getMap('m').set('after', 4);
				await store.close();
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('m').toJSON()).toEqual({ stored: 1, before: 2, 'while-loading': 3, after: 4 });
			});

			it('keeps every change over many restarts, each change its own task', async () => {
				const harness = await device();
				const expected: Record<string, number> = {};
				for (let round = 0; round < 4; round++) {
					const store = harness.documents();
					const doc = new Y.Doc({ gc: false });
					await store.bind('chat', doc);
					for (let i = 0; i < 80; i++) {
						doc.getMap('m').set(`r${round}-${i}`, i);
						expected[`r${round}-${i}`] = i;
						if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
					}
					await store.close();
				}
				const [reloaded] = await session(harness, ['chat']);
				expect(reloaded!.getMap('m').toJSON()).toEqual(expected);
				expect(await harness.documents().stateVector('chat')).toEqual(Y.encodeStateVector(reloaded!));
			});
		});

		describe('records', () => {
			const values: [string, unknown][] = [
				['text', 'héllo, wereld 👋'],
				['number', 42.5],
				['zero', 0],
				['false', false],
				['null', null],
				['list', [1, 'two', { three: 3 }]],
				['object', { name: 'Laptop', keys: { epoch: 2, secret: 'c2VjcmV0' }, devices: [] }]
			];

			it('gives back JSON values as they were set, after a restart too', async () => {
				const harness = await device();
				const records = harness.records();
				for (const [key, value] of values) await records.set(key, value);
				for (const [key, value] of values) expect(await records.get(key), key).toEqual(value);
				const restarted = harness.records();
				for (const [key, value] of values) expect(await restarted.get(key), key).toEqual(value);
			});

			it('reads a key never set as undefined', async () => {
				const records = (await device()).records();
				expect(await records.get('never-set')).toBeUndefined();
			});

			it('replaces a value that is set again', async () => {
				const harness = await device();
				await harness.records().set('device', { name: 'Laptop' });
				await harness.records().set('device', { name: 'Phone' });
				expect(await harness.records().get('device')).toEqual({ name: 'Phone' });
			});

			it('deletes one record and keeps the others', async () => {
				const harness = await device();
				const records = harness.records();
				await records.set('keep', 1);
				await records.set('drop', 2);
				await records.delete('drop');
				await records.delete('never-set');
				const restarted = harness.records();
				expect(await restarted.get('drop')).toBeUndefined();
				expect(await restarted.get('keep')).toBe(1);
			});

			it('forgets every record on clear()', async () => {
				const harness = await device();
				const records = harness.records();
				for (const [key, value] of values) await records.set(key, value);
				await records.clear();
				const restarted = harness.records();
				for (const [key] of values) expect(await restarted.get(key), key).toBeUndefined();
				await restarted.set('after', 'clear');
				expect(await harness.records().get('after')).toBe('clear');
			});
		});
	});
}
