/**
 * The camera QR scanner, behind one function: `startScanner(video, onText, { signal })` shows the back
 * camera in `video`, hands a few frames a second to a QR decoder, and calls `onText` once, with the
 * first text it reads; then the camera is off. Aborting `signal` turns it off at any moment.
 *
 * The decoder is the browser's own `BarcodeDetector` where it reads QR codes (Android, macOS,
 * ChromeOS), else the `barcode-detector` ponyfill over ZXing-C++ compiled to WebAssembly (desktop
 * Linux and Windows Chromium, Firefox, Safari). Its `.wasm` is a file of this app's build, served
 * from its own origin and kept by the service worker: scanning works offline and asks no CDN.
 *
 * Every failure is a `ScannerError` whose code says what the user can do about it.
 */
import type { BarcodeDetector as DetectorClass } from 'barcode-detector/ponyfill';
import wasmUrl from 'zxing-wasm/reader/zxing_reader.wasm?url';

export type ScannerErrorCode =
	/** The user or the browser refused the camera to this site. */
	| 'camera-denied'
	/** The device has no camera. */
	| 'no-camera'
	/** This browser offers no camera to web pages here (no `navigator.mediaDevices`: an old browser, or not https). */
	| 'camera-unsupported'
	/** The camera exists but could not be opened (another app holds it, a hardware error) or stopped while scanning. */
	| 'camera-failed'
	/** The QR decoder could not be loaded or stopped working. */
	| 'decoder-failed';

export class ScannerError extends Error {
	constructor(
		readonly code: ScannerErrorCode,
		cause?: unknown
	) {
		super(`Scanner: ${code}${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
		this.name = 'ScannerError';
	}
}

export interface ScannerOptions {
	/** Aborting turns the camera off and ends the reading, at any moment, also while the camera is being asked for. */
	signal: AbortSignal;
	/** A failure after the camera started (it was unplugged, the decoder broke): the scanner has stopped. */
	onError?: (error: ScannerError) => void;
}

/** From the start of one decode to the start of the next: about six frames a second, so a code held still is read at once and the phone stays cool. */
const FRAME_INTERVAL_MS = 160;
/** Frames are decoded at most this wide or high: a 1080p frame has 2.25 times the pixels of a 720p one, and a code a third of it high reads as well at 720p. */
const MAX_DECODE_SIDE = 1280;

/** Marks in the Performance timeline, read by the browser tests and bench/scanner.ts to time a scan. */
const MARK_CAMERA = 'samen-scanner-camera';
const MARK_DECODED = 'samen-scanner-decoded';

interface QrDecoder {
	/** The texts of the QR codes in the video's current frame. */
	decode(video: HTMLVideoElement): Promise<string[]>;
}

/** The browser's own detector, where it exists and reads QR codes. */
async function nativeDecoder(): Promise<QrDecoder | undefined> {
	const Native = (globalThis as { BarcodeDetector?: typeof DetectorClass }).BarcodeDetector;
	if (!Native) return undefined;
	let formats: readonly string[];
	try {
		formats = await Native.getSupportedFormats();
	} catch {
		// A class without a detection service behind it may refuse even to list formats: ZXing reads instead.
		return undefined;
	}
	if (!formats.includes('qr_code')) return undefined;
	const detector = new Native({ formats: ['qr_code'] });
	return { decode: async (video) => (await detector.detect(video)).map((code) => code.rawValue) };
}

/** One overrides object for the life of the page: `prepareZXingModule` reloads the module when they change. */
const ZXING_OVERRIDES = {
	locateFile: (path: string, prefix: string) => (path.endsWith('.wasm') ? wasmUrl : prefix + path)
};

/** ZXing-C++ in WebAssembly, fed with the video's frame drawn into a canvas of our own. */
async function zxingDecoder(): Promise<QrDecoder> {
	const { BarcodeDetector, prepareZXingModule, purgeZXingModule } = await import('barcode-detector/ponyfill');
	// Compiles the module now, so that a missing or broken .wasm fails here and not on every frame.
	try {
		await prepareZXingModule({ overrides: ZXING_OVERRIDES, fireImmediately: true });
	} catch (cause) {
		// The failed module stays cached until purged: without this, Try again could never succeed.
		purgeZXingModule();
		throw cause;
	}
	const detector = new BarcodeDetector({ formats: ['qr_code'] });
	const canvas = document.createElement('canvas');
	const context = canvas.getContext('2d', { willReadFrequently: true });
	if (!context) throw new Error('no 2D canvas');
	return {
		async decode(video) {
			const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(video.videoWidth, video.videoHeight));
			const width = Math.round(video.videoWidth * scale);
			const height = Math.round(video.videoHeight * scale);
			if (width === 0 || height === 0) return [];
			if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
			context.drawImage(video, 0, 0, width, height);
			return (await detector.detect(context.getImageData(0, 0, width, height))).map((code) => code.rawValue);
		}
	};
}

let decoderLoad: Promise<QrDecoder> | undefined;

/** The decoder for this browser, loaded once; a failed load is tried again on the next call. */
function loadDecoder(): Promise<QrDecoder> {
	decoderLoad ??= (async () => (await nativeDecoder()) ?? (await zxingDecoder()))().catch((cause: unknown) => {
		decoderLoad = undefined;
		throw new ScannerError('decoder-failed', cause);
	});
	return decoderLoad;
}

/**
 * Loads the decoder ahead of a scan (without the camera), so that the first frame is read at once.
 * A failure here is reported by the scan that needs the decoder.
 */
export function prepareScanner(): void {
	loadDecoder().catch(() => undefined);
}

function cameraError(cause: unknown): ScannerError {
	const name = cause instanceof DOMException || cause instanceof Error ? cause.name : '';
	if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return new ScannerError('camera-denied', cause);
	if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return new ScannerError('no-camera', cause);
	return new ScannerError('camera-failed', cause);
}

async function openCamera(): Promise<MediaStream> {
	if (!navigator.mediaDevices?.getUserMedia) throw new ScannerError('camera-unsupported');
	try {
		return await navigator.mediaDevices.getUserMedia({
			audio: false,
			// The back camera of a phone; a laptop has only the one. 720p resolves a QR across a third of the frame.
			video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } }
		});
	} catch (cause) {
		throw cameraError(cause);
	}
}

/**
 * Resolves once the camera shows in `video` (or the scan was aborted first); rejects with a
 * `ScannerError` when the camera or the decoder cannot be used, with the camera off again.
 */
export async function startScanner(video: HTMLVideoElement, onText: (text: string) => void, options: ScannerOptions): Promise<void> {
	const { signal } = options;
	// Camera and decoder load side by side: the permission prompt hides the decoder's compile time.
	const decoding = loadDecoder();
	// A camera that fails first is the error to report; the decoder's own failure is reported when awaited below.
	decoding.catch(() => undefined);
	const stream = await openCamera();
	let stopped = false;
	let timer: ReturnType<typeof setTimeout> | undefined;

	function stop(): void {
		if (stopped) return;
		stopped = true;
		signal.removeEventListener('abort', stop);
		clearTimeout(timer);
		for (const track of stream.getTracks()) track.stop();
		if (video.srcObject === stream) video.srcObject = null;
	}

	function fail(error: ScannerError): void {
		if (stopped) return;
		stop();
		options.onError?.(error);
	}

	if (signal.aborted) return stop();
	signal.addEventListener('abort', stop);
	// The user sees the camera at once and can aim while the decoder is still loading.
	try {
		video.muted = true;
		video.playsInline = true;
		video.srcObject = stream;
		await video.play();
	} catch (cause) {
		if (stopped) return;
		stop();
		throw new ScannerError('camera-failed', cause);
	}
	if (stopped) return;
	performance.mark(MARK_CAMERA);
	let decoder: QrDecoder;
	try {
		decoder = await decoding;
	} catch (cause) {
		if (stopped) return;
		stop();
		throw cause;
	}
	if (stopped) return;
	for (const track of stream.getVideoTracks()) track.addEventListener('ended', () => fail(new ScannerError('camera-failed')));

	async function tick(): Promise<void> {
		if (stopped) return;
		const started = performance.now();
		// HAVE_CURRENT_DATA: a frame to draw. Before it there is nothing to read.
		if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
			let texts: string[];
			try {
				texts = await decoder.decode(video);
			} catch (cause) {
				fail(new ScannerError('decoder-failed', cause));
				return;
			}
			if (stopped) return;
			const text = texts.find((candidate) => candidate.length > 0);
			if (text !== undefined) {
				performance.mark(MARK_DECODED);
				stop();
				onText(text);
				return;
			}
		}
		timer = setTimeout(() => void tick(), Math.max(0, FRAME_INTERVAL_MS - (performance.now() - started)));
	}
	void tick();
}
