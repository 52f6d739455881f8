/** Longer questions are refused with a message: the demo model saw a dozen words at most. */
export const MAX_QUESTION_LENGTH = 1000;
