import { ZXING_WASM_SHA256 } from 'barcode-detector/ponyfill';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

describe('QR decoder', () => {
	it('ships the very .wasm that the decoder was built for (the app serves it itself, no CDN)', () => {
		// The file that scanner.ts imports with ?url. package.json pins zxing-wasm to the version barcode-detector depends on; an update of one without the other fails here.
		const require = createRequire(import.meta.url);
		const wasm = readFileSync(require.resolve('zxing-wasm/reader/zxing_reader.wasm'));
		expect(createHash('sha256').update(wasm).digest('hex')).toBe(ZXING_WASM_SHA256);
	});
});
