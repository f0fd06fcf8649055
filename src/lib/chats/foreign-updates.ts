/**
 * What an update from a device of another account (or a chat's mailbox, which any member can
 * write to) would change in a shared chat document, when it keeps to the shape every such update
 * must have. Yjs itself trusts whoever sends an update: any item may replace or delete any value.
 * So the update is first applied to a copy of the document, and what it would change is compared
 * with what the rules allow:
 *
 * - nothing but plain values directly in the document's top-level maps `maps` (no nested types, no
 *   lists, no other root types);
 * - every value it sets is returned, with the one it replaces, for the caller to accept or not (a
 *   signed record of an account allowed to write it, ./shared-chats.ts);
 * - no value that was there disappears: a record is replaced by a record (an edit, a deletion
 *   record), never removed;
 * - nothing is left pending: an update that needs items this device lacks, or deletes items it
 *   does not know, could change the document later, unchecked, when those arrive. It is refused
 *   now and comes again, whole, once the gap is filled.
 *
 * The copy costs one encode and two applies of the document: paid only for other accounts'
 * updates, never for the account's own devices', and not for the common case either: an update
 * that only adds new keys (a new message, a reaction, a mark set for the first time), deletes
 * nothing and follows on what this device holds is checked value by value without a copy.
 */
import * as Y from 'yjs';

/** A value an update sets in one of the maps, and the value it replaces (undefined for a new key). */
export interface ForeignChange {
	map: string;
	key: string;
	value: unknown;
	previous: unknown;
}

/** The current (not deleted) item of each key of a root map. */
function currentItems(type: { _map: Map<string, Y.Item> }): Map<string, Y.Item> {
	const result = new Map<string, Y.Item>();
	for (const [key, item] of type._map) if (!item.deleted) result.set(key, item);
	return result;
}

function sameId(a: Y.Item | undefined, b: Y.Item | undefined): boolean {
	return !!a && !!b && a.id.client === b.id.client && a.id.clock === b.id.clock;
}

/**
 * The values an update adds, when all it does is set keys not set before in `maps`, with nothing
 * deleted and nothing missing before it; undefined when it does anything else (then the copy decides).
 */
function newValuesOnly(doc: Y.Doc, update: Uint8Array, maps: readonly string[]): ForeignChange[] | undefined {
	const { structs, ds } = Y.decodeUpdate(update);
	if (ds.clients.size > 0) return undefined;
	const next = new Map<number, number>();
	const keys = new Set<string>();
	const values: ForeignChange[] = [];
	for (const struct of structs) {
		const client = struct.id.client;
		const expected = next.get(client) ?? Y.getState(doc.store, client);
		// Already held: Yjs skips it too.
		if (struct.id.clock + struct.length <= expected) continue;
		if (struct.id.clock !== expected || !(struct instanceof Y.Item)) return undefined;
		next.set(client, struct.id.clock + struct.length);
		const parent = struct.parent;
		const key = struct.parentSub;
		if (typeof parent !== 'string' || key === null || struct.origin || struct.rightOrigin || !maps.includes(parent)) return undefined;
		if (!(struct.content instanceof Y.ContentAny) || struct.content.arr.length !== 1) return undefined;
		const existing = doc.share.get(parent) as { _map?: Map<string, Y.Item> } | undefined;
		if (existing?._map?.has(key) || keys.has(`${parent}/${key}`)) return undefined;
		keys.add(`${parent}/${key}`);
		values.push({ map: parent, key, value: struct.content.arr[0], previous: undefined });
	}
	return values;
}

/** The values `update` sets in `maps`, in the order of `maps`; undefined when it breaks a rule above. */
export function foreignChanges(doc: Y.Doc, update: Uint8Array, maps: readonly string[]): ForeignChange[] | undefined {
	let added: ReturnType<typeof newValuesOnly>;
	try {
		added = newValuesOnly(doc, update, maps);
	} catch {
		return undefined;
	}
	if (added) return added.sort((a, b) => maps.indexOf(a.map) - maps.indexOf(b.map));
	// Never collecting: a value the update replaces must still be there to compare with.
	const copy = new Y.Doc({ gc: false });
	try {
		Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
		const before = new Map<string, Map<string, Y.Item>>();
		for (const name of maps) before.set(name, currentItems(copy.getMap(name)));
		const rootsBefore = new Set(copy.share.keys());
		Y.applyUpdate(copy, update);
		if (copy.store.pendingStructs !== null || copy.store.pendingDs !== null) return undefined;
		for (const [name, type] of copy.share) {
			if (!rootsBefore.has(name) && !maps.includes(name)) return undefined;
			// Items in a root's list part (an array or text), or a root that is not one of the maps.
			if (type._start !== null) return undefined;
			if (!maps.includes(name) && type._map.size > 0) return undefined;
		}
		const changes: ForeignChange[] = [];
		for (const name of maps) {
			const type = copy.getMap(name);
			const old = before.get(name)!;
			const now = currentItems(type);
			for (const key of old.keys()) if (!now.has(key)) return undefined;
			for (const [key, item] of now) {
				const previous = old.get(key);
				if (sameId(previous, item)) continue;
				if (!(item.content instanceof Y.ContentAny) || item.content.arr.length !== 1) return undefined;
				const previousValue = previous && previous.content instanceof Y.ContentAny ? previous.content.arr[0] : undefined;
				changes.push({ map: name, key, value: item.content.arr[0], previous: previousValue });
			}
		}
		return changes;
	} catch {
		return undefined;
	} finally {
		copy.destroy();
	}
}
