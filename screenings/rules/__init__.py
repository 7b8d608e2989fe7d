"""Rules of a study that hold without a form or a request: questions and answers, sampling slots."""
