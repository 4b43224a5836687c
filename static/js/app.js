/* Page behaviour: confirmations on bulk actions, select-all checkboxes. */
