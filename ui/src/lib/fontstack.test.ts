// The window's fonts name no font families, only the engine's generic ones. In a fresh
// WebKitGTK window process (every opening of the window, src-tauri/src/window_process.rs)
// each named family that is not installed costs hundreds of fontconfig matches per
// weight before the next one is tried: the nine-family stack this guards against cost
// ~250 ms of each opening. See app.css.
import { describe, expect, it } from 'vitest';

const GENERIC = new Set(['system-ui', 'sans-serif', 'serif', 'ui-monospace', 'monospace', 'inherit']);

/** The text of every file that holds styles: app.css and the components. */
const styleSources = import.meta.glob<string>(['../app.css', '../App.svelte', '../components/*.svelte'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** Every `font-family:` value and every `--font-*:` definition, with where it is. */
function fontStacks(): { where: string; value: string }[] {
  const stacks: { where: string; value: string }[] = [];
  for (const [file, text] of Object.entries(styleSources)) {
    for (const m of text.matchAll(/(?:font-family|--font-[a-z]+)\s*:\s*([^;]+);/g)) {
      stacks.push({ where: `${file}: ${m[0]}`, value: m[1].trim() });
    }
  }
  return stacks;
}

describe('font stacks', () => {
  it('are found (the scan reads the styles)', () => {
    expect(Object.keys(styleSources).length).toBeGreaterThan(10);
    const values = fontStacks().map((s) => s.value);
    expect(values).toContain('system-ui, sans-serif');
    expect(values.filter((v) => v === 'var(--font-mono)').length).toBeGreaterThan(0);
  });

  it('name only generic families, or the stacks app.css defines', () => {
    for (const { where, value } of fontStacks()) {
      for (const family of value.split(',').map((f) => f.trim())) {
        const ok = GENERIC.has(family) || /^var\(--font-(ui|mono)\)$/.test(family);
        expect(ok, `${where} names "${family}"`).toBe(true);
      }
    }
  });
});
