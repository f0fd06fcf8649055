/**
 * Whether an update from a device of another account (or a chat's mailbox, which any member can
 * write to) may be applied to a shared chat document. Yjs itself trusts whoever sends an update:
 * any item may replace or delete any value. So the update is first applied to a copy of the
 * document, and what it would change is compared with what the rules allow:
 *
 * - nothing but plain values directly in the document's top-level maps `maps` (no nested types, no
 *   lists, no other root types);
 * - every value it sets is accepted by `accept` (a signed record of an account allowed to write
 *   it, checked by the caller, ./shared-chats.ts);
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

export type AcceptValue = (map: string, key: string, value: unknown, previous: unknown) => boolean;

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
function newValuesOnly(doc: Y.Doc, update: Uint8Array, maps: readonly string[]): { map: string; key: string; value: unknown }[] | undefined {
	const { structs, ds } = Y.decodeUpdate(update);
	if (ds.clients.size > 0) return undefined;
	const next = new Map<number, number>();
	const keys = new Set<string>();
	const values: { map: string; key: string; value: unknown }[] = [];
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
		values.push({ map: parent, key, value: struct.content.arr[0] });
	}
	return values;
}

export function checkForeignUpdate(doc: Y.Doc, update: Uint8Array, maps: readonly string[], accept: AcceptValue): boolean {
	let added: ReturnType<typeof newValuesOnly>;
	try {
		added = newValuesOnly(doc, update, maps);
	} catch {
		return false;
	}
	if (added) return added.every(({ map, key, value }) => accept(map, key, value, undefined));
	// Never collecting: a value the update replaces must still be there to compare with.
	const copy = new Y.Doc({ gc: false });
	try {
		Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
		const before = new Map<string, Map<string, Y.Item>>();
		for (const name of maps) before.set(name, currentItems(copy.getMap(name)));
		const rootsBefore = new Set(copy.share.keys());
		Y.applyUpdate(copy, update);
		if (copy.store.pendingStructs !== null || copy.store.pendingDs !== null) return false;
		for (const [name, type] of copy.share) {
			if (!rootsBefore.has(name) && !maps.includes(name)) return false;
			// Items in a root's list part (an array or text), or a root that is not one of the maps.
			if (type._start !== null) return false;
			if (!maps.includes(name) && type._map.size > 0) return false;
		}
		for (const name of maps) {
			const type = copy.getMap(name);
			const old = before.get(name)!;
			const now = currentItems(type);
			for (const key of old.keys()) if (!now.has(key)) return false;
			for (const [key, item] of now) {
				const previous = old.get(key);
				if (sameId(previous, item)) continue;
				if (!(item.content instanceof Y.ContentAny) || item.content.arr.length !== 1) return false;
				const previousValue = previous && previous.content instanceof Y.ContentAny ? previous.content.arr[0] : undefined;
				if (!accept(name, key, item.content.arr[0], previousValue)) return false;
			}
		}
		return true;
	} catch {
		return false;
	} finally {
		copy.destroy();
	}
}
