/**
 * The camera QR scanner, kept behind one function so that html5-qrcode (in maintenance mode)
 * can be swapped without touching a screen.
 */
export interface Scanner {
	stop(): Promise<void>;
}

export async function startScanner(elementId: string, onText: (text: string) => void): Promise<Scanner> {
	const { Html5Qrcode, Html5QrcodeSupportedFormats } = await import('html5-qrcode');
	const reader = new Html5Qrcode(elementId, {
		formatsToSupport: [Html5QrcodeSupportedFormats.QR_CODE],
		useBarCodeDetectorIfSupported: true,
		verbose: false
	});
	let stopped = false;
	await reader.start(
		{ facingMode: 'environment' },
		{ fps: 10, qrbox: (width, height) => ({ width: Math.min(width, height) * 0.9, height: Math.min(width, height) * 0.9 }) },
		(text) => {
			if (!stopped) onText(text);
		},
		() => {
			// Frames without a readable code are the normal case while the user aims.
		}
	);
	return {
		async stop() {
			if (stopped) return;
			stopped = true;
			await reader.stop().catch(() => undefined);
			reader.clear();
		}
	};
}
