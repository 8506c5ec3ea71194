// The product mark (the same drawing as the favicon), decorative.
export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="#1e293b" />
      <path d="M6 24h20" stroke="#94a3b8" strokeWidth="2.5" strokeLinecap="round" />
      <path
        d="M16 5c2.8 3.4 5 6.3 5 9.6A5 5 0 0 1 16 19.5a5 5 0 0 1-5-4.9c0-2 .9-3.6 2.3-5.2.3 1.7 1.1 2.8 2.2 3.3-.5-2.8.1-5.3.5-7.7Z"
        fill="#f97316"
      />
    </svg>
  )
}
