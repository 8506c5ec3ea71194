import { describe, expect, it } from 'vitest'
import { connectionIsSlow, LIGHT_UPLOAD_STORAGE_KEY, storedLightUpload, storeLightUpload } from './lightUpload'

const withConnection = (connection: object | undefined) => ({ connection }) as unknown as Navigator

describe('the lighter upload', () => {
  it('is wanted on data saver and on 3G or slower, not on 4G or where the browser does not say', () => {
    expect(connectionIsSlow(withConnection({ saveData: true, effectiveType: '4g' }))).toBe(true)
    for (const type of ['slow-2g', '2g', '3g']) {
      expect(connectionIsSlow(withConnection({ effectiveType: type }))).toBe(true)
    }
    expect(connectionIsSlow(withConnection({ effectiveType: '4g', saveData: false }))).toBe(false)
    expect(connectionIsSlow(withConnection(undefined))).toBe(false)
  })

  it('keeps the choice on the device', () => {
    expect(storedLightUpload()).toBeNull()
    storeLightUpload(false)
    expect(localStorage.getItem(LIGHT_UPLOAD_STORAGE_KEY)).toBe('off')
    expect(storedLightUpload()).toBe(false)
    storeLightUpload(true)
    expect(storedLightUpload()).toBe(true)
  })
})
