/**
 * What a new device calls itself before its user changes it: a kind from the user agent, and a
 * name in the user's language such as "Chrome on Linux" or "Chrome op Linux" (the primary makes
 * duplicates distinct: "Chrome on Linux 2").
 */
import { t } from '../i18n/index.svelte';
import type { DeviceKind } from '../protocol/trust';

/** Android and iPhone with "Mobile" → phone; iPad and Android without "Mobile" → tablet; else computer. */
export function guessDeviceKind(agent: string, maxTouchPoints = 0): DeviceKind {
	if (/iPad/.test(agent)) return 'tablet';
	// iPadOS asks for desktop pages and says "Macintosh"; only its touch screen tells it apart.
	if (/Macintosh/.test(agent) && maxTouchPoints > 1) return 'tablet';
	if (/iPhone|iPod/.test(agent)) return 'phone';
	if (/Android/.test(agent)) return /Mobile/.test(agent) ? 'phone' : 'tablet';
	return 'computer';
}

export function guessDeviceName(agent: string): string {
	const system = /Android/.test(agent)
		? 'Android'
		: /iPhone|iPad|iPod/.test(agent)
			? 'iOS'
			: /Mac OS X/.test(agent)
				? 'Mac'
				: /Windows/.test(agent)
					? 'Windows'
					: /CrOS/.test(agent)
						? 'ChromeOS'
						: /Linux/.test(agent)
							? 'Linux'
							: 'Web';
	const browser = /Firefox\/|FxiOS\//.test(agent)
		? 'Firefox'
		: /Edg\/|EdgiOS\//.test(agent)
			? 'Edge'
			: /Chrome\/|CriOS\//.test(agent)
				? 'Chrome'
				: /Safari\//.test(agent)
					? 'Safari'
					: 'Browser';
	return t('devices.defaultName', { browser, system });
}

/** This browser's kind and default name. */
export function thisDevice(): { kind: DeviceKind; name: string } {
	return { kind: guessDeviceKind(navigator.userAgent, navigator.maxTouchPoints), name: guessDeviceName(navigator.userAgent) };
}
