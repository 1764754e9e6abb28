namespace Bookstore.Server;

/// <summary>
/// The bookstore's data, in memory and thread-safe. Shelf ids are global and increasing; book
/// ids are per shelf. A missing shelf or book throws <see cref="KeyNotFoundException"/> naming its id.
/// </summary>
internal sealed class ShelfStore
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, ShelfEntry> _shelves = [];
    private long _lastShelfId;

    /// <summary>The sample's starting data: shelf 1 "Fiction" and shelf 2 "Fantasy", one book each.</summary>
    public static ShelfStore CreateSample()
    {
        var store = new ShelfStore();
        var fiction = store.CreateShelf(new Shelf { Theme = "Fiction" });
        store.CreateBook(fiction.Id, new Book { Title = "REAMDE", Author = "Neal Stephenson" });
        var fantasy = store.CreateShelf(new Shelf { Theme = "Fantasy" });
        store.CreateBook(fantasy.Id, new Book { Title = "A Game of Thrones", Author = "George R.R. Martin" });
        return store;
    }

    public IReadOnlyList<Shelf> ListShelves()
    {
        lock (_lock)
            return _shelves.Values.Select(s => s.Shelf.Clone()).ToList();
    }

    public Shelf CreateShelf(Shelf shelf)
    {
        lock (_lock)
        {
            var created = new Shelf { Id = ++_lastShelfId, Theme = shelf.Theme };
            _shelves.Add(created.Id, new ShelfEntry(created));
            return created.Clone();
        }
    }

    public Shelf GetShelf(long shelfId)
    {
        lock (_lock)
            return FindShelf(shelfId).Shelf.Clone();
    }

    public void DeleteShelf(long shelfId)
    {
        lock (_lock)
        {
            if (!_shelves.Remove(shelfId))
                throw NotFound(shelfId);
        }
    }

    public IReadOnlyList<Book> ListBooks(long shelfId)
    {
        lock (_lock)
            return FindShelf(shelfId).Books.Values.Select(b => b.Clone()).ToList();
    }

    public Book CreateBook(long shelfId, Book book)
    {
        lock (_lock)
        {
            var shelf = FindShelf(shelfId);
            var created = new Book { Id = ++shelf.LastBookId, Title = book.Title, Author = book.Author };
            shelf.Books.Add(created.Id, created);
            return created.Clone();
        }
    }

    public Book GetBook(long shelfId, long bookId)
    {
        lock (_lock)
        {
            return FindShelf(shelfId).Books.TryGetValue(bookId, out var book) ? book.Clone() : throw NotFound(bookId);
        }
    }

    public void DeleteBook(long shelfId, long bookId)
    {
        lock (_lock)
        {
            if (!FindShelf(shelfId).Books.Remove(bookId))
                throw NotFound(bookId);
        }
    }

    private ShelfEntry FindShelf(long shelfId) =>
        _shelves.TryGetValue(shelfId, out var shelf) ? shelf : throw NotFound(shelfId);

    private static KeyNotFoundException NotFound(long id) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Unable to find the item keyed by {id}"));

    private sealed class ShelfEntry(Shelf shelf)
    {
        public Shelf Shelf { get; } = shelf;

        public SortedDictionary<long, Book> Books { get; } = [];

        public long LastBookId { get; set; }
    }
}
