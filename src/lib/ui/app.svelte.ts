/**
 * The one piece of reactive state the screens share: this browser's device, if it has one.
 * Screens read from `app.device` and re-render on `app.version`, which rises on every change.
 */
import { Device } from '../device';
import { browserPlatform } from '../platform/browser';

export const app = $state({
	loading: true,
	device: undefined as Device | undefined,
	version: 0,
	error: undefined as string | undefined
});

let stopListening: (() => void) | undefined;

export function adopt(device: Device): void {
	stopListening?.();
	app.device = device;
	stopListening = device.on('changed', () => app.version++);
	device.connect();
	app.version++;
}

export async function loadDevice(): Promise<void> {
	try {
		const device = await Device.restore(browserPlatform());
		if (device) adopt(device);
	} catch (error) {
		app.error = (error as Error).message;
	} finally {
		app.loading = false;
	}
}

/** A name for this device that a user would recognise in the device list. */
export function guessDeviceName(): string {
	const agent = navigator.userAgent;
	const system = /Android/.test(agent)
		? 'Android'
		: /iPhone|iPad/.test(agent)
			? 'iOS'
			: /Mac OS X/.test(agent)
				? 'Mac'
				: /Windows/.test(agent)
					? 'Windows'
					: /Linux/.test(agent)
						? 'Linux'
						: 'Web';
	const browser = /Firefox\//.test(agent) ? 'Firefox' : /Edg\//.test(agent) ? 'Edge' : /Chrome\//.test(agent) ? 'Chrome' : /Safari\//.test(agent) ? 'Safari' : 'Browser';
	return `${browser} on ${system}`;
}
