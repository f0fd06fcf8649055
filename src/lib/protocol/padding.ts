/**
 * Padding of sealed contents to a few sizes, so that what the server or the network sees of a sealed
 * frame or mailbox entry (its length) says little about what it holds:
 *
 *   padded = [length: varuint][content: length bytes][zeros up to the bucket]
 *   buckets: 256, 1,024, 4,096, 16,384 bytes, then whole multiples of 16,384
 *
 * A 1-character message and a 150-character one seal to the same size. A caller with a hard limit
 * (a mailbox item) passes it, and the padding stops there. The reader checks the length and that
 * the padding is zeros.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

const SMALL_BUCKETS = [256, 1024, 4096, 16384];
const LARGE_STEP = 16384;

export class PaddingError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'PaddingError';
	}
}

/** The padded size for `length` bytes of padded form (length prefix included). */
export function bucketFor(length: number): number {
	for (const bucket of SMALL_BUCKETS) if (length <= bucket) return bucket;
	return Math.ceil(length / LARGE_STEP) * LARGE_STEP;
}

export function pad(content: Uint8Array, limit = Number.POSITIVE_INFINITY): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, content.length);
	encoding.writeUint8Array(encoder, content);
	const unpadded = encoding.length(encoder);
	if (unpadded > limit) throw new PaddingError('content over the limit');
	const padded = new Uint8Array(Math.min(bucketFor(unpadded), limit));
	padded.set(encoding.toUint8Array(encoder));
	return padded;
}

export function unpad(padded: Uint8Array): Uint8Array {
	try {
		const decoder = decoding.createDecoder(padded);
		const length = decoding.readVarUint(decoder);
		if (length > padded.length - decoder.pos) throw new PaddingError('length past the end');
		const content = padded.subarray(decoder.pos, decoder.pos + length);
		for (let i = decoder.pos + length; i < padded.length; i++) if (padded[i] !== 0) throw new PaddingError('padding is not zeros');
		return content;
	} catch (error) {
		if (error instanceof PaddingError) throw error;
		throw new PaddingError(`malformed padding: ${(error as Error).message}`);
	}
}
