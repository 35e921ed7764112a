import { describe, expect, it } from 'vitest';
import { toAppError } from './api';

describe('toAppError', () => {
  it('keeps the shell error shape as it is', () => {
    expect(toAppError({ code: 'validation', message: 'Title is required.' })).toEqual({ code: 'validation', message: 'Title is required.' });
  });

  it('turns other rejections into a sentence the user can read', () => {
    expect(toAppError('command list_appointments not found')).toEqual({ code: 'internal', message: 'command list_appointments not found' });
    expect(toAppError(new Error('IPC closed'))).toEqual({ code: 'internal', message: 'IPC closed' });
    expect(toAppError(undefined).message).toMatch(/could not finish/);
  });
});
