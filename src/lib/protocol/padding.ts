/**
 * Padding of sealed contents to a few sizes, so that what the server or the network sees of a sealed
 * frame or mailbox entry (its length) says little about what it holds:
 *
 *   padded = [length: varuint][content: length bytes][zeros up to the bucket]
 *   buckets: 256 and 1,024 bytes; past that, Padmé (Nikitin et al., "Reducing Metadata Leakage
 *            from Encrypted Files and Communication with PURBs", 2019): a length L is rounded up so
 *            that only its top ⌊log₂ ⌊log₂ L⌋⌋ + 1 bits may be non-zero
 *
 * A 1-character message and a 150-character one seal to the same size; large frames (a month of
 * history) cost at most 12 % more, where whole multiples of a bucket would nearly double them.
 * A caller with a hard limit (a mailbox item) passes it, and the padding stops there. The reader
 * checks the length and that the padding is zeros.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

const SMALL_BUCKETS = [256, 1024];

export class PaddingError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'PaddingError';
	}
}

/** The padded size for `length` bytes of padded form (length prefix included). */
export function bucketFor(length: number): number {
	for (const bucket of SMALL_BUCKETS) if (length <= bucket) return bucket;
	const exponent = Math.floor(Math.log2(length));
	const kept = Math.floor(Math.log2(exponent)) + 1;
	const step = 2 ** (exponent - kept);
	return Math.ceil(length / step) * step;
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
