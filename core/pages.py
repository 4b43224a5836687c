"""Page numbers for a list whose total is known (the back office's pager macro reads this shape)."""

from dataclasses import dataclass
from math import ceil


@dataclass(frozen=True)
class Pages:
    """Where one page sits among all of them: what ``_macros.pager`` needs, as Flask-SQLAlchemy names it."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        """The previous page's number."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The next page's number."""
        return self.page + 1

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        """Yield the page numbers to show, with None where some are skipped."""
        shown = 0
        for number in range(1, self.pages + 1):
            near = self.page - left_current <= number <= self.page + right_current
            if number <= left_edge or near or number > self.pages - right_edge:
                if number != shown + 1:
                    yield None
                yield number
                shown = number
