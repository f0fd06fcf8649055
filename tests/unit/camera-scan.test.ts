/**
 * The camera scanner's view model (src/lib/ui/camera-scan.svelte.ts) over a scanner that reads a
 * code, or fails, when the test says: a read code leaves it ready to scan again.
 */
import { describe, expect, it, vi } from 'vitest';
import { CameraScan } from '../../src/lib/ui/camera-scan.svelte';
import { ScannerError, startScanner } from '../../src/lib/ui/scanner';

vi.mock('../../src/lib/ui/scanner', async (original) => ({
	...(await original<typeof import('../../src/lib/ui/scanner')>()),
	startScanner: vi.fn()
}));

const video = {} as HTMLVideoElement;

/** The next start of the scanner: `read` hands it a code, `fail` an error after the camera started. */
function nextScan(): { read: (text: string) => void; fail: (error: ScannerError) => void } {
	const handles = { read: (_text: string) => {}, fail: (_error: ScannerError) => {} };
	vi.mocked(startScanner).mockImplementationOnce(async (_video, onText, options) => {
		handles.read = onText;
		handles.fail = (error) => options.onError?.(error);
	});
	return handles;
}

describe('camera scan', () => {
	it('is no longer scanning once a code is read, and starts again for the next one', async () => {
		const camera = new CameraScan();
		const read: string[] = [];
		const first = nextScan();
		await camera.start(video, (text) => read.push(text));
		expect(camera.scanning).toBe(true);
		first.read('samen-safety:1:0');
		expect(read).toEqual(['samen-safety:1:0']);
		expect(camera.scanning).toBe(false);

		const second = nextScan();
		await camera.start(video, (text) => read.push(text));
		expect(startScanner).toHaveBeenCalledTimes(2);
		expect(camera.scanning).toBe(true);
		second.read('the next code');
		expect(read).toEqual(['samen-safety:1:0', 'the next code']);
		expect(camera.scanning).toBe(false);
	});

	it('says why the camera stopped, and a scan stopped by the user leaves a later one alone', async () => {
		const camera = new CameraScan();
		const stopped = nextScan();
		await camera.start(video, () => {});
		camera.stop();
		const later = nextScan();
		await camera.start(video, () => {});
		// The stopped scan's scanner gives up late: the running scan is not touched.
		stopped.fail(new ScannerError('camera-failed'));
		expect(camera.scanning).toBe(true);
		expect(camera.error).toBeUndefined();
		later.fail(new ScannerError('camera-failed'));
		expect(camera.scanning).toBe(false);
		expect(camera.error).toBe('camera-failed');
	});
});
