import 'fake-indexeddb/auto';
import { IndexedDbDocumentStore, IndexedDbKeyValueStore } from '../../src/lib/storage/indexeddb';
import { MemoryDocumentStore, MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { runDocumentStoreConformance } from './document-store.suite';

// A memory store outlives a "restart" only as the same instance, handed to the restarted device.
runDocumentStoreConformance('in memory', async () => {
	const documents = new MemoryDocumentStore();
	const records = new MemoryKeyValueStore();
	return { documents: () => documents, records: () => records };
});

// IndexedDB outlives a restart by name: each start opens new store objects over the same databases.
let devices = 0;
runDocumentStoreConformance('IndexedDB (fake-indexeddb)', async () => {
	const name = `conformance-${++devices}-${Date.now()}`;
	return {
		documents: () => new IndexedDbDocumentStore(`${name}-doc:`),
		records: () => new IndexedDbKeyValueStore(`${name}-records`)
	};
});
