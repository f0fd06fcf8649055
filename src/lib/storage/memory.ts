import * as Y from 'yjs';
import type { DocumentStore, KeyValueStore } from './types';

/** Survives a device "restart" in tests when the same instance is handed to the new device. */
export class MemoryDocumentStore implements DocumentStore {
	private readonly saved = new Map<string, Uint8Array[]>();
	private readonly bound: { doc: Y.Doc; listener: (update: Uint8Array) => void }[] = [];

	async bind(topic: string, doc: Y.Doc): Promise<void> {
		const updates = this.saved.get(topic) ?? [];
		this.saved.set(topic, updates);
		if (updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(updates), this);
		const listener = (update: Uint8Array) => updates.push(update);
		doc.on('update', listener);
		this.bound.push({ doc, listener });
	}

	async clear(): Promise<void> {
		this.saved.clear();
	}

	async close(): Promise<void> {
		for (const { doc, listener } of this.bound.splice(0)) doc.off('update', listener);
	}

	get topics(): string[] {
		return [...this.saved.keys()];
	}
}

export class MemoryKeyValueStore implements KeyValueStore {
	private readonly values = new Map<string, string>();

	async get<T>(key: string): Promise<T | undefined> {
		const value = this.values.get(key);
		return value === undefined ? undefined : (JSON.parse(value) as T);
	}

	async set<T>(key: string, value: T): Promise<void> {
		this.values.set(key, JSON.stringify(value));
	}

	async delete(key: string): Promise<void> {
		this.values.delete(key);
	}

	async clear(): Promise<void> {
		this.values.clear();
	}
}
