// "Read aloud" under a chat answer: the device's own speech synthesis reads the
// answer (its Markdown marks left out) in the app's language, with a Russian
// voice when the device has one. Pressing again stops it. Shown only where the
// browser can speak.
import { Square, Volume2 } from 'lucide-react'
import { useEffect, useState } from 'react'
import { useI18n } from '../../hooks/useI18n'
import type { Language } from '../../api/types'

/** The answer as plain text to read: no Markdown marks, links as their text. */
export function speakable(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^[ \t]{0,3}(#{1,6}|>|[-*+]|\d+\.)[ \t]+/gm, '')
    .replace(/[*_`~|]/g, ' ')
    .replace(/^\s*:?-{3,}:?\s*$/gm, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim()
}

function voiceFor(language: Language): SpeechSynthesisVoice | null {
  const voices = window.speechSynthesis.getVoices()
  return voices.find((voice) => voice.lang.toLowerCase().startsWith(language)) ?? null
}

export function canSpeak(): boolean {
  return typeof window !== 'undefined' && 'speechSynthesis' in window && typeof SpeechSynthesisUtterance !== 'undefined'
}

export function SpeakButton({ text }: { text: string }) {
  const { t, language } = useI18n()
  const [speaking, setSpeaking] = useState(false)

  // Leaving the answer (a cleared chat, another view) stops its reading.
  useEffect(
    () => () => {
      if (speaking) window.speechSynthesis.cancel()
    },
    [speaking],
  )

  function toggle() {
    const synth = window.speechSynthesis
    if (speaking) {
      synth.cancel()
      setSpeaking(false)
      return
    }
    synth.cancel()
    const utterance = new SpeechSynthesisUtterance(speakable(text))
    utterance.lang = language === 'ru' ? 'ru-RU' : 'en-US'
    const voice = voiceFor(language)
    if (voice) utterance.voice = voice
    utterance.onend = () => setSpeaking(false)
    utterance.onerror = () => setSpeaking(false)
    setSpeaking(true)
    synth.speak(utterance)
  }

  return (
    <button type="button" className="button button-ghost speak-button" aria-pressed={speaking} onClick={toggle}>
      {speaking ? <Square aria-hidden="true" size={18} /> : <Volume2 aria-hidden="true" size={18} />}
      {t('voice.readAloud')}
    </button>
  )
}
