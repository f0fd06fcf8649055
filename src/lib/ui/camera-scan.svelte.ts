/**
 * The camera reading a QR code at the user's request, as the link and the contact screens use it:
 * whether it is on, what went wrong (in words the screen picks), and turning it off.
 */
import { ScannerError, startScanner, type ScannerErrorCode } from './scanner';

export class CameraScan {
	/** The camera is on (or being asked for) and frames are being read. */
	scanning = $state(false);
	error = $state<ScannerErrorCode | undefined>();
	private stopper?: AbortController;

	/** Starts the camera in `video`; `read` gets the first code it reads, with the camera off again and `scanning` false. */
	async start(video: HTMLVideoElement, read: (text: string) => void): Promise<void> {
		if (this.scanning) return;
		const controller = new AbortController();
		this.stopper = controller;
		this.error = undefined;
		this.scanning = true;
		const failed = (error: ScannerError) => {
			if (controller.signal.aborted) return;
			this.stopper = undefined;
			this.scanning = false;
			this.error = error.code;
		};
		const done = (text: string) => {
			// The scanner turned the camera off once it read a code: so that a screen that stays open offers to scan again.
			if (this.stopper === controller) {
				this.stopper = undefined;
				this.scanning = false;
			}
			read(text);
		};
		try {
			await startScanner(video, done, { signal: controller.signal, onError: failed });
		} catch (error) {
			if (!(error instanceof ScannerError)) throw error;
			failed(error);
		}
	}

	/** Turns the camera off (Stop camera, Cancel, a code read, the screen closed). */
	stop(): void {
		this.stopper?.abort();
		this.stopper = undefined;
		this.scanning = false;
	}
}
