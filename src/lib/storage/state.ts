/**
 * What two devices compare to see whether one lacks something of a document without sending it:
 * its state vector (the structs it holds, per client) and a digest of its delete set. Yjs's
 * `Map.delete` adds no struct, so a document changed only by deletions keeps its state vector;
 * the digest tells it apart. Two documents with the same structs and the same deletions give the
 * same digest (Yjs writes a delete set sorted, with adjacent ranges merged).
 */
import * as Y from 'yjs';
import { hash } from '../crypto';

/** Bytes of a deletions digest. */
export const DELETIONS_DIGEST_BYTES = 16;

export interface DocumentState {
	stateVector: Uint8Array;
	deletions: Uint8Array;
}

/** The state of `doc` as it has integrated it (structs Yjs keeps pending are not part of it). */
export function documentState(doc: Y.Doc): DocumentState {
	const stateVector = Y.encodeStateVector(doc);
	return { stateVector, deletions: deletionsDigest(doc, stateVector) };
}

function deletionsDigest(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
	const store = doc.store as unknown as { pendingStructs: unknown; pendingDs: unknown };
	const { pendingStructs, pendingDs } = store;
	store.pendingStructs = null;
	store.pendingDs = null;
	try {
		// An update against the document's own state vector holds no struct: only its delete set.
		return hash(Y.encodeStateAsUpdate(doc, stateVector)).slice(0, DELETIONS_DIGEST_BYTES);
	} finally {
		store.pendingStructs = pendingStructs;
		store.pendingDs = pendingDs;
	}
}

/** Whether a document in state `ours` lacks something of one in state `theirs`. */
export function lacks(ours: { vector: Map<number, number>; deletions: Uint8Array }, theirs: { vector: Map<number, number>; deletions: Uint8Array }): boolean {
	for (const [client, clock] of theirs.vector) if (clock > (ours.vector.get(client) ?? 0)) return true;
	if (ours.deletions.length !== theirs.deletions.length) return true;
	for (let i = 0; i < ours.deletions.length; i++) if (ours.deletions[i] !== theirs.deletions[i]) return true;
	return false;
}
